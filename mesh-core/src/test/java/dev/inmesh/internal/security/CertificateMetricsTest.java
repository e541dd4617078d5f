package dev.inmesh.internal.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.telemetry.CertificateMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class CertificateMetricsTest {
  private static final Instant T0 = Instant.parse("2026-11-25T12:00:00Z");
  private static final String ID = "spiffe://cluster.local/ns/default/sa/reviews";

  private final CertificateManagerTest.MovableClock clock = new CertificateManagerTest.MovableClock(T0);
  private final TestCa ca = new TestCa(T0);
  private final CertificateManagerTest.ManualScheduler scheduler = new CertificateManagerTest.ManualScheduler();
  private final CertificateManager manager = new CertificateManager(SpiffeId.parse(ID).orElseThrow(), ca,
      Duration.ofHours(24), clock, scheduler);
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @Test
  void expiryReadinessAndRotationsAreMetersTaggedWithTheIdentity() throws Exception {
    new CertificateMetrics(manager, clock).bindTo(registry);
    assertThat(gauge("inmesh.certificate.expiry")).as("no certificate yet").isNaN();

    manager.start();
    clock.now = T0.plus(Duration.ofHours(12));
    assertThat(gauge("inmesh.certificate.expiry")).isCloseTo(12 * 3600, org.assertj.core.data.Offset.offset(120.0));
    assertThat(gauge("inmesh.certificate.ready")).isEqualTo(1);

    ca.failNext = new IOException("CA down");
    scheduler.runNext();
    clock.now = T0.plus(Duration.ofHours(23));
    assertThat(gauge("inmesh.certificate.ready")).as("a tenth of the lifetime before expiry").isZero();
    assertThat(registry.get("inmesh.certificate.rotations").tags("identity", ID, "result", "issued").counter().count()).isEqualTo(1);
    assertThat(registry.get("inmesh.certificate.rotations").tags("identity", ID, "result", "failed").counter().count()).isEqualTo(1);
  }

  private double gauge(String name) {
    return registry.get(name).tag("identity", ID).gauge().value();
  }
}
