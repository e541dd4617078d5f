package dev.inmesh.internal.model;

import dev.inmesh.internal.security.authz.AuthorizationEngine;
import dev.inmesh.internal.security.jwt.JwtAuthentication;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A gateway's listener: the servers of the Istio Gateways that select the gateway workload, on one
 * port. Each server is one Envoy filter chain: the SNI names it takes (none: every name), its TLS
 * termination if any, and the route configuration its requests are routed by.
 */
public record GatewayListener(String name, int port, List<Server> servers) {
  public GatewayListener {
    Objects.requireNonNull(name, "name");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("gateway listener " + name + ": port must be 1..65535, got " + port);
    }
    servers = List.copyOf(servers);
    if (servers.isEmpty()) {
      throw new IllegalArgumentException("gateway listener " + name + " has no server");
    }
  }

  /** Whether the listener terminates TLS (then every server does: Envoy cannot mix on one port without a TLS inspector match). */
  public boolean tls() {
    return servers.get(0).tls().isPresent();
  }

  /**
   * One filter chain: {@code serverNames} empty matches any SNI (and a client that sends none).
   * Each request it serves is authenticated ({@code authentication}, RequestAuthentication's JWTs)
   * and then authorized ({@code authorization}, the AuthorizationPolicies selecting the gateway).
   */
  public record Server(List<String> serverNames, String routeConfigName, Optional<ServerTls> tls,
      JwtAuthentication authentication, AuthorizationEngine authorization) {
    public Server {
      serverNames = List.copyOf(serverNames);
      Objects.requireNonNull(routeConfigName, "routeConfigName");
      Objects.requireNonNull(tls, "tls");
      Objects.requireNonNull(authentication, "authentication");
      Objects.requireNonNull(authorization, "authorization");
    }
  }

  /**
   * How a server terminates TLS. The key pair comes either from files ({@code certificateChain},
   * {@code privateKey}, and for MUTUAL {@code caCertificates}) or from a credential the gateway
   * resolves by name ({@code credentialName}, Istio's Kubernetes secret name); ISTIO_MUTUAL names
   * neither, it uses the gateway's own mesh certificate and the mesh's roots.
   */
  public record ServerTls(Mode mode, Optional<String> credentialName, Optional<String> certificateChain,
      Optional<String> privateKey, Optional<String> caCertificates, List<String> alpn) {
    public ServerTls {
      Objects.requireNonNull(mode, "mode");
      Objects.requireNonNull(credentialName, "credentialName");
      Objects.requireNonNull(certificateChain, "certificateChain");
      Objects.requireNonNull(privateKey, "privateKey");
      Objects.requireNonNull(caCertificates, "caCertificates");
      alpn = List.copyOf(alpn);
      if (mode == Mode.ISTIO_MUTUAL) {
        if (credentialName.isPresent() || certificateChain.isPresent() || privateKey.isPresent() || caCertificates.isPresent()) {
          throw new IllegalArgumentException("an ISTIO_MUTUAL server uses the mesh certificate; it names no credential or file");
        }
      } else if (credentialName.isEmpty() && (certificateChain.isEmpty() || privateKey.isEmpty())) {
        throw new IllegalArgumentException("a TLS server needs a credentialName or a certificate chain and a private key");
      }
      if (mode == Mode.MUTUAL && credentialName.isEmpty() && caCertificates.isEmpty()) {
        throw new IllegalArgumentException("a MUTUAL TLS server needs the CA certificates its clients are verified against");
      }
    }
  }

  /**
   * Istio's SIMPLE (server certificate only), MUTUAL (a client certificate is required and verified)
   * and ISTIO_MUTUAL (mesh mutual TLS: the gateway's SPIFFE certificate, a client with a mesh
   * certificate required).
   */
  public enum Mode { SIMPLE, MUTUAL, ISTIO_MUTUAL }
}
