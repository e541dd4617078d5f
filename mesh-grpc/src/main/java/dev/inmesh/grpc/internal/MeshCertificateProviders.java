package dev.inmesh.grpc.internal;

import dev.inmesh.internal.security.CertificateManager;
import dev.inmesh.internal.security.Credentials;
import io.grpc.Status;
import io.grpc.xds.internal.security.certprovider.CertificateProvider;
import io.grpc.xds.internal.security.certprovider.CertificateProviderProvider;
import io.grpc.xds.internal.security.certprovider.CertificateProviderRegistry;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A grpc-xds certificate provider plugin ({@value #PLUGIN}, gRFC A29) that feeds grpc-java the
 * workload's certificate and mesh roots straight from its {@link CertificateManager}: no file,
 * and the private key never leaves the process. Every certificate the manager is issued reaches
 * the provider's watchers, so new handshakes use it and a new root is trusted as soon as the CA
 * sends it. grpc-xds finds the plugin by name in the bootstrap's {@code certificate_providers};
 * the {@code config} names the manager by a key this class hands out.
 *
 * <p>This uses grpc-xds' {@code internal} provider API, pinned to the grpc version of the BOM.
 */
public final class MeshCertificateProviders {
  public static final String PLUGIN = "inmesh";
  public static final String MANAGER_KEY = "manager";
  /**
   * The managers bootstraps name, one key each however many bootstraps name it. A manager leaves
   * when it is closed (its Mesh closed), at the next registration, so the map holds the managers
   * of open Meshes and no more; providers already made keep their own reference.
   */
  private static final Map<String, CertificateManager> MANAGERS = new ConcurrentHashMap<>();

  static {
    CertificateProviderRegistry.getInstance().register(new Provider());
  }

  private MeshCertificateProviders() {}

  /** Makes {@code manager} available to bootstraps; the key goes in the provider's config. */
  public static synchronized String register(CertificateManager manager) {
    MANAGERS.values().removeIf(CertificateManager::isClosed);
    for (Map.Entry<String, CertificateManager> entry : MANAGERS.entrySet()) {
      if (entry.getValue() == manager) {
        return entry.getKey();
      }
    }
    String key = manager.identity() + "#" + UUID.randomUUID();
    MANAGERS.put(key, manager);
    return key;
  }

  /** The manager registered as {@code key}. */
  static Optional<CertificateManager> manager(Object key) {
    return key == null ? Optional.empty() : Optional.ofNullable(MANAGERS.get(key.toString()));
  }

  private static final class Provider implements CertificateProviderProvider {
    @Override
    public String getName() {
      return PLUGIN;
    }

    @Override
    public CertificateProvider createCertificateProvider(Object config, CertificateProvider.DistributorWatcher watcher,
        boolean notifyCertUpdates) {
      Object key = config instanceof Map<?, ?> map ? map.get(MANAGER_KEY) : null;
      CertificateManager manager = key == null ? null : MANAGERS.get(key.toString());
      if (manager == null) {
        throw new IllegalArgumentException("certificate provider " + PLUGIN + ": no CertificateManager registered as '"
            + key + "'; build channels and servers with MeshGrpc");
      }
      return new FromManager(manager, watcher, notifyCertUpdates);
    }
  }

  private static final class FromManager extends CertificateProvider {
    private final CertificateManager manager;
    private final java.util.function.Consumer<CertificateManager.CertificateEvent> onIssued = event -> {
      if (event instanceof CertificateManager.CertificateEvent.Issued) {
        push();
      }
    };

    FromManager(CertificateManager manager, DistributorWatcher watcher, boolean notifyCertUpdates) {
      super(watcher, notifyCertUpdates);
      this.manager = manager;
    }

    @Override
    public void start() {
      manager.onEvent(onIssued);
      push();
    }

    private void push() {
      Optional<Credentials> credentials = manager.credentials();
      if (credentials.isEmpty()) {
        getWatcher().onError(Status.UNAVAILABLE.withDescription("no certificate yet for " + manager.identity()));
        return;
      }
      getWatcher().updateTrustedRoots(manager.trustAnchors());
      getWatcher().updateCertificate(credentials.get().key(), credentials.get().chain());
    }

    @Override
    public void close() {
      // grpc-xds closes a provider whenever a TLS context changes; its listener must go with it
      manager.removeListener(onIssued);
    }
  }
}
