package dev.inmesh.internal.model;

import dev.inmesh.internal.balancing.BalancerConfig;
import dev.inmesh.internal.resilience.ConnectionLimits;
import dev.inmesh.internal.resilience.OutlierDetectionConfig;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A cluster (CDS) as the data plane uses it: balancing, limits, outlier detection, connect timeout,
 * TLS when its transport socket asks for it, and the service it leads to when its metadata says.
 */
public record ClusterConfig(
    String name,
    String edsServiceName,
    BalancerConfig balancer,
    ConnectionLimits limits,
    Optional<OutlierDetectionConfig> outlierDetection,
    Duration connectTimeout,
    Optional<UpstreamTls> tls,
    Optional<DestinationService> service) {
  /** A cluster whose metadata names no service. */
  public ClusterConfig(String name, String edsServiceName, BalancerConfig balancer, ConnectionLimits limits,
      Optional<OutlierDetectionConfig> outlierDetection, Duration connectTimeout, Optional<UpstreamTls> tls) {
    this(name, edsServiceName, balancer, limits, outlierDetection, connectTimeout, tls, Optional.empty());
  }

  public ClusterConfig {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(edsServiceName, "edsServiceName");
    Objects.requireNonNull(balancer, "balancer");
    Objects.requireNonNull(limits, "limits");
    Objects.requireNonNull(outlierDetection, "outlierDetection");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(tls, "tls");
    Objects.requireNonNull(service, "service");
  }
}
