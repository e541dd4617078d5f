package dev.inmesh.gateway.internal;

import dev.inmesh.internal.model.GatewayListener;
import io.netty.handler.ssl.SslContext;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one port serves now: for plaintext, the route configuration of its one server; for TLS,
 * each server's TLS context and routes, chosen by the client's SNI as Envoy chooses a filter chain
 * (an exact name, then the longest {@code *.suffix}, then the server without names). A server
 * whose certificate cannot be loaded is left out, so its names get no handshake (fail closed).
 *
 * <p>It remembers the {@linkplain TlsContexts#stamp stamp} of each TLS server's files, so that a
 * rotated certificate is loaded without a listener change ({@link #stale}); a server whose new
 * files cannot be loaded (a rotation half written, say) keeps the certificate it had.
 */
final class PortConfig {
  private static final Logger log = LoggerFactory.getLogger(PortConfig.class);

  /** One server as connections use it; {@code tls} null on a plaintext port. */
  record Binding(List<String> serverNames, String routeConfigName, SslContext tls) {}

  /** The TLS settings a server's context was made from, and the stamp of its files then. */
  private record Loaded(GatewayListener.ServerTls settings, String stamp) {}

  private final GatewayListener listener;
  private final List<Binding> bindings;
  private final Map<String, Loaded> loaded;

  PortConfig(GatewayListener listener, List<Binding> bindings) {
    this(listener, bindings, Map.of());
  }

  private PortConfig(GatewayListener listener, List<Binding> bindings, Map<String, Loaded> loaded) {
    this.listener = listener;
    this.bindings = List.copyOf(bindings);
    this.loaded = Map.copyOf(loaded);
  }

  static PortConfig of(GatewayListener listener, TlsContexts contexts) {
    return of(listener, contexts, null);
  }

  /**
   * The config for {@code listener}, reusing the TLS contexts of {@code previous} (null: none)
   * whose settings and files have not changed.
   */
  static PortConfig of(GatewayListener listener, TlsContexts contexts, PortConfig previous) {
    List<Binding> bindings = new ArrayList<>();
    Map<String, Loaded> loaded = new HashMap<>();
    for (GatewayListener.Server server : listener.servers()) {
      if (server.tls().isEmpty()) {
        bindings.add(new Binding(server.serverNames(), server.routeConfigName(), null));
        continue;
      }
      GatewayListener.ServerTls settings = server.tls().get();
      String stamp = contexts.stamp(settings);
      loaded.put(server.routeConfigName(), new Loaded(settings, stamp));
      Optional<SslContext> before = previous == null ? Optional.empty() : previous.context(server.routeConfigName(), settings);
      if (before.isPresent() && stamp.equals(previous.loaded.get(server.routeConfigName()).stamp())) {
        bindings.add(new Binding(server.serverNames(), server.routeConfigName(), before.get()));
        continue;
      }
      try {
        bindings.add(new Binding(server.serverNames(), server.routeConfigName(), contexts.context(settings)));
        if (before.isPresent()) {
          log.info("gateway port {}: server {} (routes {}) loaded its changed certificate files", listener.port(),
              names(server), server.routeConfigName());
        }
      } catch (GatewayConfigException e) {
        if (before.isPresent()) {
          bindings.add(new Binding(server.serverNames(), server.routeConfigName(), before.get()));
          log.error("gateway port {}: server {} (routes {}) keeps the certificate it had; its changed files cannot be"
              + " loaded: {}", listener.port(), names(server), server.routeConfigName(), e.getMessage());
        } else {
          log.error("gateway port {}: server {} (routes {}) is not served: {}", listener.port(), names(server),
              server.routeConfigName(), e.getMessage());
        }
      }
    }
    return new PortConfig(listener, bindings, loaded);
  }

  /** Whether a TLS server's files changed since this config was made. */
  boolean stale(TlsContexts contexts) {
    for (Loaded each : loaded.values()) {
      if (!contexts.stamp(each.settings()).equals(each.stamp())) {
        return true;
      }
    }
    return false;
  }

  /** The context a server of these routes was served with, if it was made from the same settings. */
  private Optional<SslContext> context(String routeConfigName, GatewayListener.ServerTls settings) {
    Loaded before = loaded.get(routeConfigName);
    if (before == null || !before.settings().equals(settings)) {
      return Optional.empty();
    }
    return bindings.stream().filter(b -> b.routeConfigName().equals(routeConfigName) && b.tls() != null)
        .map(Binding::tls).findFirst();
  }

  private static Object names(GatewayListener.Server server) {
    return server.serverNames().isEmpty() ? "*" : server.serverNames();
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
