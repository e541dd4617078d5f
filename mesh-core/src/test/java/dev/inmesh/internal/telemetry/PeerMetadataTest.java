package dev.inmesh.internal.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PeerMetadataTest {
  private static Value string(String value) {
    return Value.newBuilder().setStringValue(value).build();
  }

  @Test
  void whatOneSideEncodesTheOtherDecodes() {
    PeerMetadata reviews = new PeerMetadata("reviews-v2", "bookinfo", Map.of("app", "reviews", "version", "v2"));

    PeerMetadata decoded = PeerMetadata.decode(reviews.encode()).orElseThrow();

    assertThat(decoded).isEqualTo(reviews);
    assertThat(decoded.app()).isEqualTo("reviews");
    assertThat(decoded.version()).isEqualTo("v2");
    assertThat(decoded.canonicalService()).isEqualTo("reviews");
    assertThat(decoded.canonicalRevision()).isEqualTo("v2");
  }

  @Test
  void readsTheStructAnIstioSidecarSends() {
    // the shape of Istio's node metadata: NAME is the pod, WORKLOAD_NAME the deployment, more keys we do not need
    Struct sidecar = Struct.newBuilder()
        .putFields("NAME", string("ratings-v1-5f9699cfdf-8dbvx"))
        .putFields("NAMESPACE", string("default"))
        .putFields("WORKLOAD_NAME", string("ratings-v1"))
        .putFields("CLUSTER_ID", string("Kubernetes"))
        .putFields("APP_CONTAINERS", string("ratings"))
        .putFields("LABELS", Value.newBuilder().setStructValue(Struct.newBuilder()
            .putFields("app", string("ratings"))
            .putFields("version", string("v1"))
            .putFields("service.istio.io/canonical-name", string("ratings"))
            .putFields("service.istio.io/canonical-revision", string("v1"))).build())
        .build();

    PeerMetadata peer = PeerMetadata.decode(Base64.getEncoder().encodeToString(sidecar.toByteArray())).orElseThrow();

    assertThat(peer.workload()).isEqualTo("ratings-v1");
    assertThat(peer.namespace()).isEqualTo("default");
    assertThat(peer.app()).isEqualTo("ratings");
    assertThat(peer.canonicalRevision()).isEqualTo("v1");
  }

  @Test
  void withoutLabelsTheCanonicalNamesFallBackAsIstiosDo() {
    PeerMetadata bare = new PeerMetadata("details", "default", Map.of());

    assertThat(bare.app()).isEqualTo("unknown");
    assertThat(bare.canonicalService()).isEqualTo("details");
    assertThat(bare.canonicalRevision()).isEqualTo("latest");
  }

  @Test
  void aBadHeaderCostsTheLabelsNeverTheRequest() {
    assertThat(PeerMetadata.decode(null)).isEmpty();
    assertThat(PeerMetadata.decode("not base64 !")).isEmpty();
    assertThat(PeerMetadata.decode(Base64.getEncoder().encodeToString(new byte[] {(byte) 0xff, 0x01}))).isEmpty();
    assertThat(PeerMetadata.decode(Base64.getEncoder().encodeToString(Struct.getDefaultInstance().toByteArray())))
        .as("a struct without a name or namespace").isEmpty();
    assertThat(PeerMetadata.decode("A".repeat(20_000))).isEmpty();
  }

  @Test
  void aPeersHeaderIsReadOnceAndItsEveryCallAfterThatCostsALookup() {
    String header = new PeerMetadata("reviews-v3", "bookinfo", Map.of("app", "reviews", "version", "v3")).encode();

    PeerMetadata first = PeerMetadata.decode(header).orElseThrow();
    PeerMetadata again = PeerMetadata.decode(new String(header)).orElseThrow();

    assertThat(again).as("remembered by the header's value").isSameAs(first);
  }

  @Test
  void metadataLongerThanAnyRealWorkloadsIsReadEachTimeAndStillRight() {
    Map<String, String> labels = new java.util.HashMap<>();
    for (int i = 0; i < 100; i++) {
      labels.put("label-" + i, "x".repeat(30));
    }
    PeerMetadata large = new PeerMetadata("big", "default", labels);
    String header = large.encode();
    assertThat(header.length()).isBetween(4 * 1024, 16 * 1024);

    PeerMetadata first = PeerMetadata.decode(header).orElseThrow();
    PeerMetadata again = PeerMetadata.decode(header).orElseThrow();

    assertThat(first).isEqualTo(large);
    assertThat(again).isEqualTo(large).isNotSameAs(first);
  }
}
