package dev.inmesh.internal.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import dev.inmesh.MeshConfig;
import dev.inmesh.identity.SpiffeId;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.telemetry.AccessLog;
import dev.inmesh.spi.CallRecorder;
import dev.inmesh.tracing.Tracing;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** What Istio's dashboards query is what Micrometer's Prometheus registry renders. */
class InboundMetricsTest {
  private static final MeshConfig CONFIG = new MeshConfig(List.of("127.0.0.1:15010"), "bookinfo", Optional.of("reviews"),
      "reviews", Map.of("app", "reviews", "version", "v2"), Locality.UNKNOWN, "127.0.0.1",
      List.of(new ServicePort("http", 9080, 9080, "HTTP")), Duration.ofSeconds(1));
  private static final SpiffeId SELF = new SpiffeId("cluster.local", "bookinfo", "reviews");
  private static final PeerInfo MTLS = new PeerInfo(new InetSocketAddress("127.0.0.1", 40000),
      new InetSocketAddress("127.0.0.1", 9080), PeerInfo.Security.MUTUAL_TLS,
      Optional.of(new SpiffeId("cluster.local", "frontend", "productpage")), Optional.empty());
  private static final PeerInfo PLAINTEXT = new PeerInfo(new InetSocketAddress("127.0.0.1", 40001),
      new InetSocketAddress("127.0.0.1", 9080), PeerInfo.Security.NONE, Optional.empty(), Optional.empty());

  private final AtomicLong nanos = new AtomicLong();

  private InboundMetrics metrics(PrometheusMeterRegistry registry) {
    CallRecorder recorder = CallRecorder.unbound(CONFIG, Optional.of(SELF), AccessLog.envoyDefault(), Tracing.NONE,
        nanos::get, Clock.systemUTC());
    recorder.bindTo(registry);
    return new InboundMetrics(recorder, "http");
  }

  /** A request that took {@code millis} by the recorder's ticker. */
  private void request(InboundMetrics metrics, PeerInfo peer, int code, String flags, double millis) {
    CallRecorder.Call call = metrics.start();
    nanos.addAndGet((long) (millis * 1_000_000));
    metrics.request(call, Optional.of(peer), Optional.empty(), code, Optional.empty(), flags, -1, -1);
  }

  @Test
  void requestsRenderUnderIstiosNamesAndTellMutualTlsFromPlaintext() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    InboundMetrics metrics = metrics(registry);

    request(metrics, MTLS, 200, "-", 12.5);
    request(metrics, PLAINTEXT, 403, "RBAC", 0.2);
    String text = registry.scrape();

    assertThat(text).containsPattern("istio_requests_total\\{[^}]*connection_security_policy=\"mutual_tls\"[^}]*"
        + "source_principal=\"spiffe://cluster.local/ns/frontend/sa/productpage\"[^}]*"
        + "source_workload_namespace=\"frontend\"[^}]*\\} 1\\.0");
    assertThat(text).containsPattern("istio_requests_total\\{[^}]*connection_security_policy=\"none\"[^}]*"
        + "response_code=\"403\"[^}]*response_flags=\"RBAC\"[^}]*source_principal=\"unknown\"[^}]*\\} 1\\.0");
    assertThat(text).containsPattern("istio_requests_total\\{[^}]*destination_principal=\"spiffe://cluster.local/ns/bookinfo/sa/reviews\"");
    assertThat(text).contains("destination_service=\"reviews.bookinfo.svc.cluster.local\"", "destination_workload=\"reviews\"",
        "destination_workload_namespace=\"bookinfo\"", "destination_version=\"v2\"", "reporter=\"destination\"",
        "request_protocol=\"http\"");
    assertThat(text).containsPattern("istio_request_duration_milliseconds_bucket\\{[^}]*connection_security_policy=\"mutual_tls\""
        + "[^}]*le=\"10\\.0\"[^}]*\\} 0");
    assertThat(text).containsPattern("istio_request_duration_milliseconds_bucket\\{[^}]*connection_security_policy=\"mutual_tls\""
        + "[^}]*le=\"25\\.0\"[^}]*\\} 1");
    assertThat(text).contains("istio_request_duration_milliseconds_sum{", "istio_request_duration_milliseconds_count{");
  }

  @Test
  void doorConnectionsRenderWithTheirSecurityPolicyAndReason() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    InboundMetrics metrics = metrics(registry);

    metrics.connectionAccepted(9080, PeerInfo.Security.MUTUAL_TLS);
    metrics.connectionRefused(9080, RefusalReason.PLAINTEXT_UNDER_STRICT);
    String text = registry.scrape();

    assertThat(text).contains(
        "inmesh_inbound_connections_total{port=\"9080\",reason=\"accepted\",security_policy=\"mutual_tls\"} 1.0",
        "inmesh_inbound_connections_total{port=\"9080\",reason=\"plaintext_under_strict\",security_policy=\"refused\"} 1.0");
  }
}
