package dev.inmesh.control.xds;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * mesh-control's own meters, named after istiod's so that Istio's control-plane dashboards read
 * them: {@code pilot_xds} (connected clients), {@code pilot_xds_pushes_total{type}} (responses
 * sent), {@code pilot_total_xds_rejects_total{type}} (NACKs), and
 * {@code pilot_proxy_convergence_time_seconds} (from a config change's translation to a client's
 * ACK of the version it produced). The {@code type} tag is one of the served types or
 * {@code other}: a type URL is the client's to choose, and every tag value is a meter for good.
 */
public final class XdsMetrics {
  private final MeterRegistry registry;
  private final Timer convergence;

  public XdsMetrics(MeterRegistry registry, Supplier<Number> connectedClients) {
    this.registry = registry;
    Gauge.builder("pilot_xds", connectedClients)
        .description("Clients connected to this mesh-control over xDS")
        .register(registry);
    this.convergence = Timer.builder("pilot_proxy_convergence_time")
        .description("Delay between a config change and a client ACKing the configuration it produced")
        .publishPercentileHistogram()
        .register(registry);
  }

  void pushed(String type) {
    Counter.builder("pilot_xds_pushes")
        .description("xDS responses sent, per type")
        .tag("type", tag(type))
        .register(registry)
        .increment();
  }

  void rejected(String type) {
    Counter.builder("pilot_total_xds_rejects")
        .description("xDS responses clients NACKed, per type")
        .tag("type", tag(type))
        .register(registry)
        .increment();
  }

  private static String tag(String type) {
    return TypeNames.SERVED.contains(type) ? type.toLowerCase(Locale.ROOT) : "other";
  }

  void converged(Duration sinceChange) {
    convergence.record(sinceChange);
  }
}
