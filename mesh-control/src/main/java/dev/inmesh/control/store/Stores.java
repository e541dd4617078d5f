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
    Client client = Client.builder().endpoints(endpoints.toArray(URI[]::new)).build();
    EtcdConfigStore config = null;
    try {
      config = EtcdConfigStore.start(client, prefix, TIMEOUT);
      EtcdRegistryStore registry = EtcdRegistryStore.start(client, prefix, leaseTtl, TIMEOUT);
      EtcdConfigStore configStore = config;
      log.info("store: etcd at {} under {}; registry lease TTL {} s", endpoints, prefix, leaseTtl.toSeconds());
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
      throw e;
    }
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
