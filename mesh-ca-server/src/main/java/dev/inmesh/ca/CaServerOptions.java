package dev.inmesh.ca;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Where {@link CaServer} listens and what its TLS certificate names.
 *
 * @param bindAddress the address both servers bind to
 * @param grpcPort the port of the gRPC {@code CreateCertificate} API; 0 picks a free port
 * @param httpsPort the port of the JSON API ({@code POST /v1/certificate}); 0 picks a free port
 * @param serverNames DNS names and IP addresses clients dial, put into the CA's own TLS certificate
 *     besides {@code localhost}, {@code 127.0.0.1} and {@code ::1}
 * @param adminToken the bearer token that {@code POST /v1/join-tokens} requires; empty disables that endpoint
 */
public record CaServerOptions(
    String bindAddress, int grpcPort, int httpsPort, List<String> serverNames, Optional<String> adminToken) {
  public CaServerOptions {
    Objects.requireNonNull(bindAddress, "bindAddress");
    serverNames = List.copyOf(serverNames);
    Objects.requireNonNull(adminToken, "adminToken");
    requirePort("grpcPort", grpcPort);
    requirePort("httpsPort", httpsPort);
    if (adminToken.isPresent() && adminToken.get().length() < 16) {
      throw new IllegalArgumentException("the admin token must have at least 16 characters");
    }
  }

  /** Loopback, Istio's CA port 15012 for gRPC, 15013 for HTTPS, no admin endpoint. */
  public static CaServerOptions defaults() {
    return new CaServerOptions("127.0.0.1", 15012, 15013, List.of(), Optional.empty());
  }

  public CaServerOptions withPorts(int grpc, int https) {
    return new CaServerOptions(bindAddress, grpc, https, serverNames, adminToken);
  }

  public CaServerOptions withBindAddress(String address) {
    return new CaServerOptions(address, grpcPort, httpsPort, serverNames, adminToken);
  }

  public CaServerOptions withServerNames(List<String> names) {
    return new CaServerOptions(bindAddress, grpcPort, httpsPort, names, adminToken);
  }

  public CaServerOptions withAdminToken(String token) {
    return new CaServerOptions(bindAddress, grpcPort, httpsPort, serverNames, Optional.of(token));
  }

  private static void requirePort(String name, int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(name + " must be 0..65535, got " + port);
    }
  }
}
