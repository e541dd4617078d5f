package dev.inmesh.control;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How to run mesh-control. Port 0 picks a free port. Without a config directory only the API
 * feeds config; without a data directory what the API applies is lost on restart.
 */
public record MeshControlOptions(
    String bindAddress,
    int xdsPort,
    int httpPort,
    Optional<Path> configDir,
    Optional<Path> dataDir,
    Duration gracePeriod,
    Duration pollInterval,
    Optional<EmbeddedCa> ca) {

  /**
   * The CA that mesh-control runs in process by default: its trust domain and the ports of its
   * gRPC and HTTPS APIs (Istio's 15012, and 15013).
   */
  public record EmbeddedCa(String trustDomain, int grpcPort, int httpsPort) {
    public EmbeddedCa {
      Objects.requireNonNull(trustDomain, "trustDomain");
      checkPort("ca grpcPort", grpcPort);
      checkPort("ca httpsPort", httpsPort);
    }
  }

  public MeshControlOptions {
    Objects.requireNonNull(bindAddress, "bindAddress");
    checkPort("xdsPort", xdsPort);
    checkPort("httpPort", httpPort);
    Objects.requireNonNull(configDir, "configDir");
    Objects.requireNonNull(dataDir, "dataDir");
    if (gracePeriod.isNegative()) {
      throw new IllegalArgumentException("gracePeriod must not be negative, got " + gracePeriod);
    }
    if (pollInterval.isNegative() || pollInterval.isZero()) {
      throw new IllegalArgumentException("pollInterval must be positive, got " + pollInterval);
    }
    Objects.requireNonNull(ca, "ca");
  }

  /** Istio's ports: 15010 for xDS, 15014 for the HTTP API; a 10 s grace period; 500 ms polling. */
  public static MeshControlOptions defaults() {
    return new MeshControlOptions("127.0.0.1", 15010, 15014, Optional.empty(), Optional.empty(),
        Duration.ofSeconds(10), Duration.ofMillis(500), Optional.of(new EmbeddedCa("cluster.local", 15012, 15013)));
  }

  /** Free ports for everything, as tests and embedded demos want. */
  public static MeshControlOptions ephemeral() {
    return defaults().withPorts(0, 0).withCa(new EmbeddedCa("cluster.local", 0, 0));
  }

  public MeshControlOptions withCa(EmbeddedCa embedded) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, dataDir, gracePeriod, pollInterval,
        Optional.of(embedded));
  }

  /** No embedded CA: workloads get their certificates elsewhere, or none. */
  public MeshControlOptions withoutCa() {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, dataDir, gracePeriod, pollInterval,
        Optional.empty());
  }

  public MeshControlOptions withPorts(int xds, int http) {
    return new MeshControlOptions(bindAddress, xds, http, configDir, dataDir, gracePeriod, pollInterval, ca);
  }

  public MeshControlOptions withConfigDir(Path dir) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, Optional.of(dir), dataDir, gracePeriod, pollInterval, ca);
  }

  public MeshControlOptions withDataDir(Path dir) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, Optional.of(dir), gracePeriod, pollInterval, ca);
  }

  public MeshControlOptions withGracePeriod(Duration grace) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, dataDir, grace, pollInterval, ca);
  }

  public MeshControlOptions withPollInterval(Duration interval) {
    return new MeshControlOptions(bindAddress, xdsPort, httpPort, configDir, dataDir, gracePeriod, interval, ca);
  }

  private static void checkPort(String field, int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(field + " must be between 0 and 65535, got " + port);
    }
  }
}
