package dev.inmesh.internal.telemetry;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.inmesh.MeshConfig;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.model.Memo;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Istio's HTTP metadata exchange: a client sends its workload's metadata in the request header
 * {@value #HEADER} (a {@code google.protobuf.Struct}, serialized and base64-encoded, with Istio's
 * keys {@code WORKLOAD_NAME}, {@code NAMESPACE}, {@code LABELS} …) and {@value #ID_HEADER}; the
 * server answers with its own in the response. Each side then reports the other's workload, app
 * and version in Istio's metrics instead of {@code unknown}, as Istio's sidecars do, and with them.
 * A header is a claim: the metrics take it only from a peer whose certificate
 * {@linkplain #vouchedForBy vouches for it}.
 *
 * @param workload the workload's name ({@code WORKLOAD_NAME}), {@code unknown} for an anonymous client
 * @param labels the workload's labels: {@code app}, {@code version}, Istio's canonical-name labels
 */
public record PeerMetadata(String workload, String namespace, Map<String, String> labels) {
  public static final String HEADER = "x-envoy-peer-metadata";
  public static final String ID_HEADER = "x-envoy-peer-metadata-id";
  static final String CANONICAL_NAME = "service.istio.io/canonical-name";
  static final String CANONICAL_REVISION = "service.istio.io/canonical-revision";
  /** Larger values are not metadata a workload would send; refused unread. */
  private static final int MAX_ENCODED = 16 * 1024;
  /**
   * A peer sends the same value on every call, and each side reads it per call: headers read
   * before, by value. Values longer than any real workload's metadata are read anew each time, so
   * the memo holds at most 256 values of 4 KB.
   */
  private static final int MAX_REMEMBERED = 4 * 1024;
  private static final Memo<String, Optional<PeerMetadata>> DECODED = new Memo<>(256, PeerMetadata::read);

  public PeerMetadata {
    Objects.requireNonNull(workload, "workload");
    Objects.requireNonNull(namespace, "namespace");
    labels = Map.copyOf(labels);
  }

  /** This workload's metadata, from its Mesh's config. */
  public static PeerMetadata of(MeshConfig self) {
    return new PeerMetadata(self.service().orElse(IstioMetrics.UNKNOWN), self.namespace(), self.labels());
  }

  public String app() {
    return labels.getOrDefault("app", IstioMetrics.UNKNOWN);
  }

  public String version() {
    return labels.getOrDefault("version", IstioMetrics.UNKNOWN);
  }

  /** Istio's canonical service: the canonical-name label, else {@code app}, else the workload. */
  public String canonicalService() {
    return labels.getOrDefault(CANONICAL_NAME, labels.getOrDefault("app", workload));
  }

  public String canonicalRevision() {
    return labels.getOrDefault(CANONICAL_REVISION, labels.getOrDefault("version", "latest"));
  }

  /**
   * Whether a peer that proved {@code certificate} in a mutual-TLS handshake may be believed when it
   * sends this metadata: the certificate names the namespace the metadata names. A plaintext peer
   * proves nothing, so its metadata is never believed.
   */
  public boolean vouchedForBy(SpiffeId certificate) {
    return certificate.namespace().equals(namespace);
  }

  /** The {@value #HEADER} value. */
  public String encode() {
    Struct.Builder labelStruct = Struct.newBuilder();
    labels.forEach((key, value) -> labelStruct.putFields(key, string(value)));
    Struct struct = Struct.newBuilder()
        .putFields("NAME", string(workload))
        .putFields("NAMESPACE", string(namespace))
        .putFields("WORKLOAD_NAME", string(workload))
        .putFields("LABELS", Value.newBuilder().setStructValue(labelStruct).build())
        .build();
    return Base64.getEncoder().encodeToString(struct.toByteArray());
  }

  /** The {@value #ID_HEADER} value, in the shape of a sidecar's node id. */
  public String id() {
    return "sidecar~0.0.0.0~" + workload + "." + namespace + "~" + namespace + ".svc.cluster.local";
  }

  /**
   * Reads a {@value #HEADER} value; empty when it is absent or not Istio's encoding (a peer's
   * bad header costs its labels, never the request).
   */
  public static Optional<PeerMetadata> decode(String header) {
    if (header == null || header.isEmpty() || header.length() > MAX_ENCODED) {
      return Optional.empty();
    }
    return header.length() <= MAX_REMEMBERED ? DECODED.apply(header) : read(header);
  }

  private static Optional<PeerMetadata> read(String header) {
    try {
      Struct struct = Struct.parseFrom(Base64.getDecoder().decode(header.trim()));
      String namespace = text(struct, "NAMESPACE");
      String workload = text(struct, "WORKLOAD_NAME");
      if (workload.isEmpty()) {
        workload = text(struct, "NAME");
      }
      if (namespace.isEmpty() && workload.isEmpty()) {
        return Optional.empty();
      }
      Map<String, String> labels = new LinkedHashMap<>();
      Value labelValue = struct.getFieldsOrDefault("LABELS", Value.getDefaultInstance());
      labelValue.getStructValue().getFieldsMap().forEach((key, value) -> {
        if (value.hasStringValue()) {
          labels.put(key, value.getStringValue());
        }
      });
      return Optional.of(new PeerMetadata(workload.isEmpty() ? IstioMetrics.UNKNOWN : workload,
          namespace.isEmpty() ? IstioMetrics.UNKNOWN : namespace, labels));
    } catch (IllegalArgumentException | InvalidProtocolBufferException e) {
      return Optional.empty();
    }
  }

  private static String text(Struct struct, String key) {
    Value value = struct.getFieldsOrDefault(key, Value.getDefaultInstance());
    return value.hasStringValue() ? value.getStringValue() : "";
  }

  private static Value string(String value) {
    return Value.newBuilder().setStringValue(value).build();
  }
}
