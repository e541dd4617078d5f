package dev.inmesh.gateway.internal;

import dev.inmesh.internal.model.GatewayListener;
import io.netty.handler.ssl.SslContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one port serves now: for plaintext, the route configuration of its one server; for TLS,
 * each server's TLS context and routes, chosen by the client's SNI as Envoy chooses a filter chain
 * (an exact name, then the longest {@code *.suffix}, then the server without names). A server
 * whose certificate cannot be loaded is left out, so its names get no handshake (fail closed).
 */
final class PortConfig {
  private static final Logger log = LoggerFactory.getLogger(PortConfig.class);

  /** One server as connections use it; {@code tls} null on a plaintext port. */
  record Binding(List<String> serverNames, String routeConfigName, SslContext tls) {}

  private final GatewayListener listener;
  private final List<Binding> bindings;

  PortConfig(GatewayListener listener, List<Binding> bindings) {
    this.listener = listener;
    this.bindings = List.copyOf(bindings);
  }

  static PortConfig of(GatewayListener listener, TlsContexts contexts) {
    List<Binding> bindings = new ArrayList<>();
    for (GatewayListener.Server server : listener.servers()) {
      if (server.tls().isEmpty()) {
        bindings.add(new Binding(server.serverNames(), server.routeConfigName(), null));
        continue;
      }
      try {
        bindings.add(new Binding(server.serverNames(), server.routeConfigName(), contexts.context(server.tls().get())));
      } catch (GatewayConfigException e) {
        log.error("gateway port {}: server {} (routes {}) is not served: {}", listener.port(),
            server.serverNames().isEmpty() ? "*" : server.serverNames(), server.routeConfigName(), e.getMessage());
      }
    }
    return new PortConfig(listener, bindings);
  }

  GatewayListener listener() {
    return listener;
  }

  boolean tls() {
    return listener.tls();
  }

  /** The plaintext port's server. */
  Optional<Binding> plaintext() {
    return bindings.stream().filter(b -> b.tls() == null).findFirst();
  }

  /** The server for an SNI name; {@code sni} null when the client sent none. */
  Optional<Binding> forSni(String sni) {
    Binding fallback = null;
    Binding wildcard = null;
    int wildcardLength = -1;
    String name = sni == null ? null : sni.toLowerCase(Locale.ROOT);
    for (Binding binding : bindings) {
      if (binding.serverNames().isEmpty()) {
        fallback = binding;
        continue;
      }
      for (String serverName : binding.serverNames()) {
        String candidate = serverName.toLowerCase(Locale.ROOT);
        if (name == null) {
          continue;
        }
        if (candidate.equals(name)) {
          return Optional.of(binding);
        }
        if (candidate.startsWith("*.") && name.endsWith(candidate.substring(1)) && candidate.length() > wildcardLength) {
          wildcard = binding;
          wildcardLength = candidate.length();
        }
      }
    }
    return Optional.ofNullable(wildcard != null ? wildcard : fallback);
  }
}
