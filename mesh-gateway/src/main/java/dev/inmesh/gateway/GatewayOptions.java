package dev.inmesh.gateway;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * How a {@link MeshGateway} serves: where {@code credentialName}s are found, the address and the
 * local ports it binds, and the bounds on what a client can make it hold.
 *
 * @param credentialsDir where a Gateway's {@code credentialName: X} is read from:
 *     {@code <credentialsDir>/X/tls.crt} and {@code tls.key} (PEM; the key PKCS#8), and for MUTUAL
 *     {@code ca.crt} (or {@code <credentialsDir>/X-cacert/ca.crt}), the keys of Istio's secrets
 * @param bindAddress the address every port listens on
 * @param localPorts a Gateway port to the local port that serves it (0: any free port); a port not
 *     listed is served on its own number, as a gateway pod serves its container ports
 * @param maxConnections open client connections, in all; a connection past it is closed at once
 * @param maxHeaderBytes a request's headers (HTTP/1.1) or header list (HTTP/2); Envoy's default is 60 KiB
 * @param maxBodyBytes a request body the gateway buffers; larger ones get 413
 * @param maxResponseBytes an upstream response body the gateway buffers; larger ones get 502
 * @param idleTimeout a connection with no traffic for this long is closed
 * @param handshakeTimeout a TLS client must finish its handshake in this time
 * @param workers threads that run calls into the mesh (the event loops never block)
 * @param queuedRequests requests waiting for a worker; past it a request gets 503
 * @param maxConcurrentStreams HTTP/2 streams per connection
 * @param requestHeadersTimeout an HTTP/1.1 request's headers must arrive whole within this time of
 *     its first byte, else 408 and the connection is closed: Envoy's {@code request_headers_timeout},
 *     which Envoy leaves off and the gateway sets to 10 s, so that a client dripping header bytes
 *     cannot hold a connection for as long as the idle timeout allows; a keep-alive connection
 *     between requests is bounded by the idle timeout instead
 */
public record GatewayOptions(
    Path credentialsDir,
    String bindAddress,
    Map<Integer, Integer> localPorts,
    int maxConnections,
    int maxHeaderBytes,
    int maxBodyBytes,
    int maxResponseBytes,
    Duration idleTimeout,
    Duration handshakeTimeout,
    int workers,
    int queuedRequests,
    int maxConcurrentStreams,
    Duration requestHeadersTimeout) {

  public GatewayOptions {
    Objects.requireNonNull(credentialsDir, "credentialsDir");
    Objects.requireNonNull(bindAddress, "bindAddress");
    localPorts = Map.copyOf(localPorts);
    positive("maxConnections", maxConnections);
    positive("maxHeaderBytes", maxHeaderBytes);
    positive("maxBodyBytes", maxBodyBytes);
    positive("maxResponseBytes", maxResponseBytes);
    positive("workers", workers);
    positive("queuedRequests", queuedRequests);
    positive("maxConcurrentStreams", maxConcurrentStreams);
    positive("idleTimeout", idleTimeout);
    positive("handshakeTimeout", handshakeTimeout);
    positive("requestHeadersTimeout", requestHeadersTimeout);
  }

  private static void positive(String name, Duration value) {
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
  }

  private static void positive(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be at least 1, got " + value);
    }
  }

  /** Every address, credentials under {@code /etc/inmesh/gateway-credentials}, Envoy-like bounds. */
  public static GatewayOptions defaults() {
    return new GatewayOptions(Path.of("/etc/inmesh/gateway-credentials"), "0.0.0.0", Map.of(), 10_000, 60 * 1024,
        16 * 1024 * 1024, 64 * 1024 * 1024, Duration.ofMinutes(5), Duration.ofSeconds(10), 64, 1024, 100, Duration.ofSeconds(10));
  }

  public GatewayOptions withCredentialsDir(Path dir) {
    return new GatewayOptions(dir, bindAddress, localPorts, maxConnections, maxHeaderBytes, maxBodyBytes,
        maxResponseBytes, idleTimeout, handshakeTimeout, workers, queuedRequests, maxConcurrentStreams,
        requestHeadersTimeout);
  }

  public GatewayOptions withBindAddress(String address) {
    return new GatewayOptions(credentialsDir, address, localPorts, maxConnections, maxHeaderBytes, maxBodyBytes,
        maxResponseBytes, idleTimeout, handshakeTimeout, workers, queuedRequests, maxConcurrentStreams,
        requestHeadersTimeout);
  }

  /** Serves the Gateway port {@code gatewayPort} on {@code localPort} (0: any free port, see {@link MeshGateway#localPort}). */
  public GatewayOptions withLocalPort(int gatewayPort, int localPort) {
    Map<Integer, Integer> ports = new HashMap<>(localPorts);
    ports.put(gatewayPort, localPort);
    return new GatewayOptions(credentialsDir, bindAddress, ports, maxConnections, maxHeaderBytes, maxBodyBytes,
        maxResponseBytes, idleTimeout, handshakeTimeout, workers, queuedRequests, maxConcurrentStreams,
        requestHeadersTimeout);
  }

  public GatewayOptions withLimits(int maxConnections, int maxHeaderBytes, int maxBodyBytes) {
    return new GatewayOptions(credentialsDir, bindAddress, localPorts, maxConnections, maxHeaderBytes, maxBodyBytes,
        maxResponseBytes, idleTimeout, handshakeTimeout, workers, queuedRequests, maxConcurrentStreams,
        requestHeadersTimeout);
  }

  public GatewayOptions withTimeouts(Duration idleTimeout, Duration handshakeTimeout) {
    return new GatewayOptions(credentialsDir, bindAddress, localPorts, maxConnections, maxHeaderBytes, maxBodyBytes,
        maxResponseBytes, idleTimeout, handshakeTimeout, workers, queuedRequests, maxConcurrentStreams,
        requestHeadersTimeout);
  }

  public GatewayOptions withWorkers(int workers, int queuedRequests) {
    return new GatewayOptions(credentialsDir, bindAddress, localPorts, maxConnections, maxHeaderBytes, maxBodyBytes,
        maxResponseBytes, idleTimeout, handshakeTimeout, workers, queuedRequests, maxConcurrentStreams,
        requestHeadersTimeout);
  }

  /** Bounds the time from a request's first byte to its last header byte (HTTP/1.1). */
  public GatewayOptions withRequestHeadersTimeout(Duration timeout) {
    return new GatewayOptions(credentialsDir, bindAddress, localPorts, maxConnections, maxHeaderBytes, maxBodyBytes,
        maxResponseBytes, idleTimeout, handshakeTimeout, workers, queuedRequests, maxConcurrentStreams, timeout);
  }

  /** The local port that serves a Gateway port: its mapping, else the port's own number. */
  public int localPortFor(int gatewayPort) {
    return localPorts.getOrDefault(gatewayPort, gatewayPort);
  }
}
