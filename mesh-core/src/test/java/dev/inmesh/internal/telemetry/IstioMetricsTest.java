package dev.inmesh.internal.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import dev.inmesh.MeshConfig;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.model.ServicePort;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Whose metadata the metrics believe, and how many series a reporter keeps. */
class IstioMetricsTest {
  private static final MeshConfig REVIEWS = new MeshConfig(List.of("127.0.0.1:15010"), "bookinfo", Optional.of("reviews"),
      "reviews", Map.of("app", "reviews", "version", "v2"), Locality.UNKNOWN, "127.0.0.1",
      List.of(new ServicePort("http", 9080, 9080, "HTTP")), Duration.ofSeconds(1));
  private static final SpiffeId PRODUCTPAGE = new SpiffeId("cluster.local", "bookinfo", "productpage");
  private static final PeerMetadata PRODUCTPAGE_METADATA =
      new PeerMetadata("productpage-v1", "bookinfo", Map.of("app", "productpage", "version", "v1"));
  private static final IstioMetrics.Outcome OK = new IstioMetrics.Outcome("http", 200, Optional.empty(), "-", 1.0);

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final IstioMetrics metrics = new IstioMetrics(registry, REVIEWS, Optional.of(new SpiffeId("cluster.local",
      "bookinfo", "reviews")));

  private double served(String sourceWorkload) {
    return registry.find(IstioMetrics.REQUESTS).tag("reporter", "destination").tag("source_workload", sourceWorkload)
        .counters().stream().mapToDouble(Counter::count).sum();
  }

  private int series() {
    return registry.find(IstioMetrics.REQUESTS).counters().size();
  }

  @Test
  void aMutualTlsCallerOfTheNamespaceItsMetadataNamesIsBelieved() {
    metrics.served(Optional.of(PRODUCTPAGE), "mutual_tls", Optional.of(PRODUCTPAGE_METADATA), OK);

    assertThat(registry.get(IstioMetrics.REQUESTS).tag("source_workload", "productpage-v1").tag("source_app", "productpage")
        .tag("source_version", "v1").tag("source_principal", PRODUCTPAGE.toString()).counter().count()).isEqualTo(1);
  }

  @Test
  void aPlaintextCallersMetadataIsNotBelieved() {
    metrics.served(Optional.empty(), "none", Optional.of(PRODUCTPAGE_METADATA), OK);

    assertThat(served("unknown")).isEqualTo(1);
    assertThat(registry.get(IstioMetrics.REQUESTS).counter().getId().getTag("source_workload_namespace")).isEqualTo("unknown");
  }

  @Test
  void metadataNamingAnotherNamespaceThanTheCertificateIsNotBelieved() {
    PeerMetadata forged = new PeerMetadata("payments", "prod", Map.of("app", "payments"));

    metrics.served(Optional.of(PRODUCTPAGE), "mutual_tls", Optional.of(forged), OK);

    assertThat(served("payments")).isZero();
    // what the certificate proves stays
    assertThat(registry.get(IstioMetrics.REQUESTS).tag("source_workload", "unknown")
        .tag("source_workload_namespace", "bookinfo").tag("source_principal", PRODUCTPAGE.toString()).counter().count())
        .isEqualTo(1);
  }

  @Test
  void aServersMetadataIsBelievedOnlyOverMutualTlsFromItsNamespace() {
    PeerMetadata ratings = new PeerMetadata("ratings-v1", "bookinfo", Map.of("app", "ratings", "version", "v1"));

    metrics.sent("ratings.bookinfo.svc.cluster.local", Optional.empty(), Optional.of(ratings), OK);
    metrics.sent("ratings.bookinfo.svc.cluster.local", Optional.of(new SpiffeId("cluster.local", "bookinfo", "ratings")),
        Optional.of(ratings), OK);

    assertThat(registry.get(IstioMetrics.REQUESTS).tag("destination_workload", "unknown").counter().count()).isEqualTo(1);
    assertThat(registry.get(IstioMetrics.REQUESTS).tag("destination_workload", "ratings-v1").counter().count()).isEqualTo(1);
  }

  @Test
  void distinctClaimsFromUnvouchedPeersShareOneSeries() {
    for (int i = 0; i < 5_000; i++) {
      PeerMetadata claim = new PeerMetadata("forged-" + i, "ns-" + i, Map.of("app", "forged-" + i));
      metrics.served(Optional.empty(), "none", Optional.of(claim), OK);
      metrics.served(Optional.of(PRODUCTPAGE), "mutual_tls", Optional.of(claim), OK);
    }

    assertThat(series()).isEqualTo(2);
  }

  @Test
  void labelsThatNameNoSeriesMakeNoNewOne() {
    for (int i = 0; i < 100; i++) {
      metrics.served(Optional.of(PRODUCTPAGE), "mutual_tls", Optional.of(new PeerMetadata("productpage-v1", "bookinfo",
          Map.of("app", "productpage", "version", "v1", "pod-template-hash", "h" + i))), OK);
    }

    assertThat(series()).isEqualTo(1);
  }

  @Test
  void aReporterKeepsAtMostItsMaximumOfSeriesAndCountsWhatItRefused() {
    int offered = IstioMetrics.MAX_SERIES + 500;
    for (int i = 0; i < offered; i++) {
      metrics.served(Optional.of(PRODUCTPAGE), "mutual_tls",
          Optional.of(new PeerMetadata("workload-" + i, "bookinfo", Map.of())), OK);
    }
    // a series it holds is still recorded
    metrics.served(Optional.of(PRODUCTPAGE), "mutual_tls", Optional.of(new PeerMetadata("workload-0", "bookinfo", Map.of())),
        OK);

    assertThat(series()).isEqualTo(IstioMetrics.MAX_SERIES);
    assertThat(registry.get(IstioMetrics.REFUSED_SERIES).counter().count()).isEqualTo(500);
    assertThat(served("workload-0")).isEqualTo(2);
  }
}
