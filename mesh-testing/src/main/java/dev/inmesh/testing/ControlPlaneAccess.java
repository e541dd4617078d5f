package dev.inmesh.testing;

import dev.inmesh.identity.SpiffeId;
import dev.inmesh.internal.security.CaClient;
import dev.inmesh.internal.security.CertificateManager;
import dev.inmesh.internal.security.RootsTrustManager;
import dev.inmesh.internal.xds.ControlPlaneChannels;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;

/**
 * How a test's workloads reach a mesh-control: its xDS address and, when it runs its CA, how a
 * workload gets a certificate (the CA's gRPC address, its root, and a join token per identity).
 * With a CA, {@link #channel} is mutual TLS with a fresh certificate for the identity, as
 * mesh-control's xDS port requires of everyone who registers; without one, plaintext.
 *
 * @param readOnly the read-only plaintext xDS port, for clients without a certificate, when open
 */
public record ControlPlaneAccess(String xds, Optional<String> readOnly, Optional<Ca> ca) {
  /** The CA's gRPC address ({@code host:port}), its root (PEM), and join tokens by namespace and service account. */
  public record Ca(String target, String rootPem, BiFunction<String, String, String> tokens) {
    public Ca {
      Objects.requireNonNull(target, "target");
      Objects.requireNonNull(rootPem, "rootPem");
      Objects.requireNonNull(tokens, "tokens");
    }
  }

  public ControlPlaneAccess {
    Objects.requireNonNull(xds, "xds");
    Objects.requireNonNull(readOnly, "readOnly");
    Objects.requireNonNull(ca, "ca");
  }

  /** A mesh-control without a CA: plaintext xDS. */
  public static ControlPlaneAccess insecure(String xds) {
    return new ControlPlaneAccess(xds, Optional.empty(), Optional.empty());
  }

  /** Where a client without a certificate reads config: the read-only port, or the plaintext xDS port without a CA. */
  public String readOnlyAddress() {
    if (ca.isEmpty()) {
      return xds;
    }
    return readOnly.orElseThrow(() -> new IllegalStateException("this mesh-control has no read-only xDS port;"
        + " start it with withXdsReadOnlyPort(0)"));
  }

  /** A channel to xDS for a workload of {@code namespace} running as {@code serviceAccount}; closing it ends what it holds. */
  public Channel channel(String namespace, String serviceAccount) {
    return channel(xds, namespace, serviceAccount);
  }

  /** As {@link #channel(String, String)}, to another replica's xDS {@code target}. */
  public Channel channel(String target, String namespace, String serviceAccount) {
    if (ca.isEmpty()) {
      ManagedChannel plain = ControlPlaneChannels.plaintext(target);
      return new Channel(plain, () -> { });
    }
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, "test-certificates");
      thread.setDaemon(true);
      return thread;
    });
    AtomicReference<CertificateManager> manager = new AtomicReference<>();
    String token = ca.get().tokens().apply(namespace, serviceAccount);
    CaClient client = new CaClient(List.of(ca.get().target()), CaClient.readPem(ca.get().rootPem()),
        () -> Optional.of(token), () -> manager.get() == null ? Optional.empty() : manager.get().credentials());
    manager.set(new CertificateManager(new SpiffeId("cluster.local", namespace, serviceAccount), client, Duration.ofHours(1),
        Clock.systemUTC(), CertificateManager.Scheduler.of(scheduler)));
    try {
      manager.get().start();
    } catch (IOException e) {
      client.close();
      scheduler.shutdownNow();
      throw new UncheckedIOException("no certificate for " + namespace + "/" + serviceAccount, e);
    }
    List<java.security.cert.X509Certificate> roots = CaClient.readPem(ca.get().rootPem());
    ManagedChannel channel = ControlPlaneChannels.mutualTls(target, manager.get().keyManager(),
        new RootsTrustManager(() -> roots));
    return new Channel(channel, () -> {
      manager.get().close();
      client.close();
      scheduler.shutdownNow();
    });
  }

  /** A channel to mesh-control and what it needs kept alive (a certificate and its renewals). */
  public record Channel(ManagedChannel channel, Runnable onClose) implements AutoCloseable {
    @Override
    public void close() {
      channel.shutdownNow();
      try {
        channel.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      onClose.run();
    }
  }
}
