package dev.inmesh.internal.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AccessLogTest {
  private static final Map<String, String> REQUEST = Map.of(":method", "GET", ":path", "/reviews/1?full=1",
      ":authority", "reviews:9080", "user-agent", "okhttp/5.5.1", "x-request-id", "abc-123");

  private static AccessLog.Entry entry(Map<String, String> responseHeaders) {
    return new AccessLog.Entry(Instant.parse("2026-11-25T12:00:00.123Z"), "HTTP/1.1", 503, "UF", 12, 19, 42,
        "10.0.0.7:9080", "outbound|9080||reviews.default.svc.cluster.local", null, null, "default",
        REQUEST::get, responseHeaders::get);
  }

  @Test
  void theDefaultIsEnvoysFormatFieldForField() {
    String line = AccessLog.envoyDefault().format(entry(Map.of("x-envoy-upstream-service-time", "40")));

    assertThat(line).isEqualTo("[2026-11-25T12:00:00.123Z] \"GET /reviews/1?full=1 HTTP/1.1\" 503 UF 12 19 42 40 \"-\""
        + " \"okhttp/5.5.1\" \"abc-123\" \"reviews:9080\" \"10.0.0.7:9080\"");
  }

  @Test
  void aCustomFormatTakesAlternativesAndMissingValuesPrintADash() {
    AccessLog log = AccessLog.of("%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %UPSTREAM_CLUSTER% %DOWNSTREAM_PEER_URI_SAN% %RESP(server)%");

    assertThat(log.format(entry(Map.of()))).isEqualTo("/reviews/1?full=1 outbound|9080||reviews.default.svc.cluster.local - -");
  }

  @Test
  void anUnknownCommandIsRefusedByName() {
    assertThatThrownBy(() -> AccessLog.of("%START_TIME% %UPSTREAM_TRANSPORT_FAILURE_REASON%"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("%UPSTREAM_TRANSPORT_FAILURE_REASON% is not supported");
  }
}
