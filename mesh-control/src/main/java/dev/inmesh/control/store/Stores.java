package dev.inmesh.control.store;

import io.etcd.jetcd.Client;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The config store, the registry store and the CA's join tokens that one mesh-control runs on, and
 * what to close with them: in memory (the embedded default), or etcd shared by every replica.
 */
public record Stores(ConfigStore config, RegistryStore registry, dev.inmesh.ca.JoinTokenStore joinTokens,
    AutoCloseable resources) implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Stores.class);
  /** How long start-up waits for etcd, and a writer for its own write to come back through the watch. */
  private static final Duration TIMEOUT = Duration.ofSeconds(15);

  public static Stores inMemory() {
    return new Stores(new InMemoryConfigStore(), new InMemoryRegistryStore(), dev.inmesh.ca.JoinTokenStore.inMemory(),
        () -> { });
  }

  /**
   * Connects to etcd at {@code endpoints}, loads everything under {@code prefix} and watches it.
   * Registry keys live on a lease of {@code leaseTtl}, at least 2 s (etcd's minimum is 1 s, and a
   * keep-alive goes out every third of the TTL).
   */
  public static Stores etcd(List<URI> endpoints, String prefix, Duration leaseTtl) {
    return etcd(dev.inmesh.control.MeshControlOptions.Etcd.of(endpoints).withPrefix(prefix).withLeaseTtl(leaseTtl));
  }

  /** As {@link #etcd(List, String, Duration)}, over TLS and as an etcd user when {@code etcd} says so. */
  public static Stores etcd(dev.inmesh.control.MeshControlOptions.Etcd etcd) {
    List<URI> endpoints = etcd.endpoints();
    String prefix = etcd.prefix();
    Duration leaseTtl = etcd.leaseTtl();
    Client client = client(etcd);
    EtcdConfigStore config = null;
    try {
      config = EtcdConfigStore.start(client, prefix, TIMEOUT);
      EtcdRegistryStore registry = EtcdRegistryStore.start(client, prefix, leaseTtl, TIMEOUT);
      EtcdConfigStore configStore = config;
      log.info("store: etcd at {} under {}{}{}; registry lease TTL {} s", endpoints, prefix,
          etcd.tls().map(t -> ", over TLS" + (t.clientCertificate().isPresent() ? " with a client certificate" : "")).orElse(""),
          etcd.user().map(u -> ", as etcd user " + u.name()).orElse(""), leaseTtl.toSeconds());
      return new Stores(config, registry, new EtcdJoinTokenStore(client, prefix, java.time.Clock.systemUTC()), () -> {
        registry.close();
        configStore.close();
        client.close();
      });
    } catch (RuntimeException e) {
      if (config != null) {
        config.close();
      }
      client.close();
      for (Throwable cause = e; cause != null; cause = cause.getCause()) {
        if (cause instanceof java.util.concurrent.TimeoutException) {
          // jetcd retries a refused handshake until the time is up, so a timeout is all there is to go on
          throw new IllegalStateException("etcd at " + endpoints + " did not answer within " + TIMEOUT.toSeconds()
              + " s. Is it running?" + etcd.tls().map(tls -> " Does its certificate chain to " + tls.ca()
                  + (tls.clientCertificate().isPresent() ? ", and does it accept " + tls.clientCertificate().get() + "?"
                      : ", and does it require a client certificate (--etcd-cert, --etcd-key)?")).orElse(""), e);
        }
      }
      throw e;
    }
  }

  private static Client client(dev.inmesh.control.MeshControlOptions.Etcd etcd) {
    etcd.requireTlsForHttps();
    io.etcd.jetcd.ClientBuilder builder = Client.builder().endpoints(etcd.endpoints().toArray(URI[]::new));
    if (etcd.tls().isPresent()) {
      var tls = etcd.tls().get();
      try {
        builder.sslContext(ssl -> {
          ssl.trustManager(tls.ca().toFile());
          if (tls.clientCertificate().isPresent()) {
            ssl.keyManager(tls.clientCertificate().get().toFile(), tls.clientKey().orElseThrow().toFile());
          }
        });
      } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
        throw new IllegalStateException("cannot set up TLS to etcd from " + tls.ca()
            + tls.clientCertificate().map(c -> ", " + c + " and " + tls.clientKey().orElseThrow()).orElse("") + ": "
            + e.getMessage(), e);
      }
    }
    if (etcd.user().isPresent()) {
      var user = etcd.user().get();
      String password;
      try {
        password = java.nio.file.Files.readString(user.passwordFile(), java.nio.charset.StandardCharsets.UTF_8).strip();
      } catch (java.io.IOException e) {
        throw new IllegalStateException("cannot read the etcd password of " + user.name() + " from " + user.passwordFile()
            + ": " + e, e);
      }
      builder.user(EtcdPrefix.bytes(user.name())).password(EtcdPrefix.bytes(password));
    }
    return builder.build();
  }

  @Override
  public void close() {
    try {
      resources.close();
    } catch (Exception e) {
      log.warn("closing the store failed", e);
    }
  }
}
