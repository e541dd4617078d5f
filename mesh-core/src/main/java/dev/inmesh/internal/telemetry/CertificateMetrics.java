package dev.inmesh.internal.telemetry;

import dev.inmesh.internal.security.CertificateManager;
import dev.inmesh.internal.security.CertificateManager.CertificateEvent;
import dev.inmesh.internal.security.Credentials;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * The workload certificate as meters, tagged with its SPIFFE ID: seconds until it expires
 * ({@code inmesh_certificate_expiry_seconds}, negative once expired, NaN before the first one),
 * whether it is ready ({@code inmesh_certificate_ready}: 0 a tenth of its life before expiry), and
 * issued certificates and failed rotations ({@code inmesh_certificate_rotations_total{result}}).
 * Alert on expiry below a quarter of the lifetime, or on any failed rotation.
 */
public final class CertificateMetrics implements MeterBinder {
  private final CertificateManager certificates;
  private final Clock clock;

  public CertificateMetrics(CertificateManager certificates, Clock clock) {
    this.certificates = Objects.requireNonNull(certificates, "certificates");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  public CertificateMetrics(CertificateManager certificates) {
    this(certificates, Clock.systemUTC());
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    String identity = certificates.identity().toString();
    // workloads of one identity in one process (replicas in a test, a demo) share one series: the first one's
    if (registry.find("inmesh.certificate.expiry").tag("identity", identity).gauge() == null) {
      Gauge.builder("inmesh.certificate.expiry", this, CertificateMetrics::secondsLeft)
          .description("Seconds until the workload certificate expires")
          .baseUnit("seconds")
          .tag("identity", identity)
          .strongReference(true)
          .register(registry);
      Gauge.builder("inmesh.certificate.ready", certificates, c -> c.isReady() ? 1 : 0)
          .description("1 while the workload certificate is valid for more than a tenth of its lifetime")
          .tag("identity", identity)
          .register(registry);
    }
    Counter issued = Counter.builder("inmesh.certificate.rotations")
        .description("Workload certificates issued, and rotations that failed and will be retried")
        .tags("identity", identity, "result", "issued")
        .register(registry);
    Counter failed = Counter.builder("inmesh.certificate.rotations")
        .description("Workload certificates issued, and rotations that failed and will be retried")
        .tags("identity", identity, "result", "failed")
        .register(registry);
    certificates.onEvent(event -> {
      if (event instanceof CertificateEvent.Issued) {
        issued.increment();
      } else {
        failed.increment();
      }
    });
  }

  private double secondsLeft() {
    return certificates.credentials()
        .map(Credentials::notAfter)
        .map(notAfter -> Duration.between(clock.instant(), notAfter).toMillis() / 1000.0)
        .orElse(Double.NaN);
  }
}
