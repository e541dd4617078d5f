package dev.inmesh.control.translate;

import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.Objects;

/**
 * What the translation for one group of clients depends on besides the config: their namespace
 * (short names resolve in it), whether they are proxyless gRPC rather than Inmesh (gRPC cannot
 * match a filter chain on {@code transport_protocol: tls}, so a PERMISSIVE listener reaches it as
 * plaintext, as Istio sends it), and whether they hold mesh certificates (only then do their
 * clusters ask for mutual TLS, Istio's auto-mTLS).
 *
 * <p>Clients with equal profiles share one xDS snapshot; {@link #key} names it.
 */
public record ClientProfile(String namespace, boolean proxylessGrpc, boolean meshCertificates) {
  /** The user agent Inmesh's own ADS client sends; every other client is taken for proxyless gRPC. */
  public static final String INMESH_USER_AGENT = "inmesh";
  /** Node metadata a client sets to {@code "true"} when it holds a mesh certificate. */
  public static final String MTLS_METADATA = dev.inmesh.xds.WorkloadMetadata.MTLS;
  private static final String GRPC_SUFFIX = ";grpc";
  private static final String MTLS_SUFFIX = ";mtls";

  public ClientProfile {
    Objects.requireNonNull(namespace, "namespace");
  }

  public static ClientProfile of(Node node) {
    var mtls = node.getMetadata().getFieldsMap().get(MTLS_METADATA);
    boolean certificates = mtls != null && ("true".equals(mtls.getStringValue()) || mtls.getBoolValue());
    return new ClientProfile(dev.inmesh.xds.WorkloadMetadata.namespaceOf(node),
        !INMESH_USER_AGENT.equals(node.getUserAgentName()), certificates);
  }

  /** {@code <namespace>[;grpc][;mtls]}: a namespace name never holds a {@code ;}. */
  public String key() {
    return namespace + (proxylessGrpc ? GRPC_SUFFIX : "") + (meshCertificates ? MTLS_SUFFIX : "");
  }

  public static ClientProfile parse(String key) {
    String rest = key;
    boolean mtls = rest.endsWith(MTLS_SUFFIX);
    if (mtls) {
      rest = rest.substring(0, rest.length() - MTLS_SUFFIX.length());
    }
    boolean grpc = rest.endsWith(GRPC_SUFFIX);
    if (grpc) {
      rest = rest.substring(0, rest.length() - GRPC_SUFFIX.length());
    }
    return new ClientProfile(rest, grpc, mtls);
  }

  /** Inmesh clients of a namespace without certificates: what tests and config dumps default to. */
  public static ClientProfile inmesh(String namespace) {
    return new ClientProfile(namespace, false, false);
  }
}
