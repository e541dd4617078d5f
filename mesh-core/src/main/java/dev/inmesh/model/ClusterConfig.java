package dev.inmesh.model;

import dev.inmesh.balancing.BalancerConfig;
import dev.inmesh.resilience.ConnectionLimits;
import dev.inmesh.resilience.OutlierDetectionConfig;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A cluster (CDS) as the data plane uses it: balancing, limits, outlier detection, connect timeout,
 * and mutual TLS when its transport socket asks for it.
 */
public record ClusterConfig(
    String name,
    String edsServiceName,
    BalancerConfig balancer,
    ConnectionLimits limits,
    Optional<OutlierDetectionConfig> outlierDetection,
    Duration connectTimeout,
    Optional<UpstreamTls> tls) {
  public ClusterConfig {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(edsServiceName, "edsServiceName");
    Objects.requireNonNull(balancer, "balancer");
    Objects.requireNonNull(limits, "limits");
    Objects.requireNonNull(outlierDetection, "outlierDetection");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(tls, "tls");
  }
}
