package dev.inmesh.control.translate;

import dev.inmesh.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.Objects;

/**
 * What the translation for one group of clients depends on besides the config: their namespace
 * (short names resolve in it), whether they are proxyless gRPC rather than Inmesh (gRPC cannot
 * match a filter chain on {@code transport_protocol: tls}, so a PERMISSIVE listener reaches it as
 * plaintext, as Istio sends it), whether they hold mesh certificates (only then do their
 * clusters ask for mutual TLS, Istio's auto-mTLS), and where they run: endpoint priorities and
 * locality weights are relative to the client's locality, as Istio computes them per proxy.
 *
 * <p>Clients with equal profiles share one xDS snapshot; {@link #key} names it.
 */
public record ClientProfile(String namespace, boolean proxylessGrpc, boolean meshCertificates, Locality locality,
    Map<String, String> gatewayLabels) {
  /** The user agent Inmesh's own ADS client sends; every other client is taken for proxyless gRPC. */
  public static final String INMESH_USER_AGENT = "inmesh";
  /** Node metadata a client sets to {@code "true"} when it holds a mesh certificate. */
  public static final String MTLS_METADATA = dev.inmesh.internal.xds.WorkloadMetadata.MTLS;
  private static final String GRPC_SUFFIX = ";grpc";
  private static final String MTLS_SUFFIX = ";mtls";
  private static final String LOCALITY_PART = ";locality=";
  private static final String GATEWAY_PART = ";gateway=";
  private static final int MAX_GATEWAY_LABELS = 64;

  /**
   * {@code gatewayLabels}: for a gateway (a node with {@code INMESH_GATEWAY}), its labels, which
   * Gateways' selectors match; empty for every other client. A gateway with no labels is selected
   * by no Gateway, as in Istio.
   */
  public ClientProfile {
    Objects.requireNonNull(namespace, "namespace");
    locality = Objects.requireNonNullElse(locality, Locality.UNKNOWN);
    gatewayLabels = Collections.unmodifiableMap(new TreeMap<>(gatewayLabels));
  }

  public ClientProfile(String namespace, boolean proxylessGrpc, boolean meshCertificates, Locality locality) {
    this(namespace, proxylessGrpc, meshCertificates, locality, Map.of());
  }

  /** Whether the client is a gateway, which is sent its Gateways' listeners and routes too. */
  public boolean gateway() {
    return !gatewayLabels.isEmpty();
  }

  /** A client that does not say where it runs. */
  public ClientProfile(String namespace, boolean proxylessGrpc, boolean meshCertificates) {
    this(namespace, proxylessGrpc, meshCertificates, Locality.UNKNOWN);
  }

  public static ClientProfile of(Node node) {
    var mtls = node.getMetadata().getFieldsMap().get(MTLS_METADATA);
    boolean certificates = mtls != null && ("true".equals(mtls.getStringValue()) || mtls.getBoolValue());
    boolean inmesh = INMESH_USER_AGENT.equals(node.getUserAgentName());
    var gateway = node.getMetadata().getFieldsMap().get(dev.inmesh.internal.xds.WorkloadMetadata.GATEWAY);
    Map<String, String> labels = new TreeMap<>();
    if (inmesh && gateway != null && "true".equals(gateway.getStringValue())) {
      var value = node.getMetadata().getFieldsMap().get(dev.inmesh.internal.xds.WorkloadMetadata.LABELS);
      if (value != null) {
        value.getStructValue().getFieldsMap().forEach((k, v) -> labels.put(k, v.getStringValue()));
      }
      // the labels become the profile key: a gateway that claims more than Kubernetes allows is selected by nothing
      boolean bounded = labels.size() <= MAX_GATEWAY_LABELS
          && labels.entrySet().stream().allMatch(e -> e.getKey().length() <= 317 && e.getValue().length() <= 63);
      if (!bounded) {
        labels.clear();
      }
    }
    return new ClientProfile(dev.inmesh.internal.xds.WorkloadMetadata.namespaceOf(node), !inmesh, certificates,
        new Locality(node.getLocality().getRegion(), node.getLocality().getZone(), node.getLocality().getSubZone()),
        labels);
  }

  /**
   * {@code <namespace>[;grpc][;mtls][;gateway=<k>=<v>,...][;locality=<region>/<zone>/<sub-zone>]}:
   * a namespace name never holds a {@code ;}, and the labels' and the locality's parts are
   * URL-encoded, so they hold none of {@code ; / = ,}.
   */
  public String key() {
    String key = namespace + (proxylessGrpc ? GRPC_SUFFIX : "") + (meshCertificates ? MTLS_SUFFIX : "");
    if (gateway()) {
      StringBuilder labels = new StringBuilder();
      gatewayLabels.forEach((k, v) -> labels.append(labels.length() == 0 ? "" : ",").append(encode(k)).append('=').append(encode(v)));
      key += GATEWAY_PART + labels;
    }
    if (locality.equals(Locality.UNKNOWN)) {
      return key;
    }
    return key + LOCALITY_PART + encode(locality.region()) + "/" + encode(locality.zone()) + "/" + encode(locality.subZone());
  }

  public static ClientProfile parse(String key) {
    Locality locality = Locality.UNKNOWN;
    String rest = key;
    int at = rest.indexOf(LOCALITY_PART);
    if (at >= 0) {
      String[] parts = Arrays.stream(rest.substring(at + LOCALITY_PART.length()).split("/", -1))
          .map(part -> URLDecoder.decode(part, StandardCharsets.UTF_8)).toArray(String[]::new);
      locality = new Locality(parts[0], parts.length > 1 ? parts[1] : "", parts.length > 2 ? parts[2] : "");
      rest = rest.substring(0, at);
    }
    Map<String, String> labels = new TreeMap<>();
    int gatewayAt = rest.indexOf(GATEWAY_PART);
    if (gatewayAt >= 0) {
      for (String pair : rest.substring(gatewayAt + GATEWAY_PART.length()).split(",")) {
        int eq = pair.indexOf('=');
        if (eq > 0) {
          labels.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
              URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
      }
      rest = rest.substring(0, gatewayAt);
    }
    boolean mtls = rest.endsWith(MTLS_SUFFIX);
    if (mtls) {
      rest = rest.substring(0, rest.length() - MTLS_SUFFIX.length());
    }
    boolean grpc = rest.endsWith(GRPC_SUFFIX);
    if (grpc) {
      rest = rest.substring(0, rest.length() - GRPC_SUFFIX.length());
    }
    return new ClientProfile(rest, grpc, mtls, locality, labels);
  }

  private static String encode(String part) {
    return URLEncoder.encode(part, StandardCharsets.UTF_8);
  }

  /** Inmesh clients of a namespace without certificates: what tests and config dumps default to. */
  public static ClientProfile inmesh(String namespace) {
    return new ClientProfile(namespace, false, false);
  }
}
