package dev.inmesh.grpc.internal;

import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code inmesh-control:///host1:port1,host2:port2}: one gRPC target for every mesh-control
 * replica. grpc-xds keeps a cached config on its first xDS server while that server is down (gRFC
 * A71 falls back only for resources it has never received), so a list of {@code xds_servers}
 * would leave a client without updates until the dead replica returns. One server whose channel
 * holds every replica's address instead moves the ADS stream: pick-first connects to the next
 * address when the stream's connection is gone, and the client resubscribes there.
 */
public final class ControlServersResolverProvider extends NameResolverProvider {
  public static final String SCHEME = "inmesh-control";
  private static final AtomicBoolean REGISTERED = new AtomicBoolean();

  /** Makes the scheme known to every channel of this JVM, grpc-xds's own included; idempotent. */
  public static void register() {
    if (REGISTERED.compareAndSet(false, true)) {
      NameResolverRegistry.getDefaultRegistry().register(new ControlServersResolverProvider());
    }
  }

  /** The target that names {@code servers} ({@code host:port} each, in order of preference). */
  public static String target(List<String> servers) {
    return SCHEME + ":///" + String.join(",", servers);
  }

  @Override
  protected boolean isAvailable() {
    return true;
  }

  @Override
  protected int priority() {
    return 5;
  }

  @Override
  public String getDefaultScheme() {
    return SCHEME;
  }

  @Override
  public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    if (!SCHEME.equals(targetUri.getScheme())) {
      return null;
    }
    String path = targetUri.getPath();
    List<String> servers = List.of((path.startsWith("/") ? path.substring(1) : path).split(","));
    return new NameResolver() {
      private Listener2 listener;

      @Override
      public String getServiceAuthority() {
        return SCHEME;
      }

      @Override
      public void start(Listener2 listener) {
        this.listener = listener;
        resolve();
      }

      @Override
      public void refresh() {
        resolve();
      }

      private void resolve() {
        List<EquivalentAddressGroup> groups = new ArrayList<>();
        for (String server : servers) {
          int colon = server.lastIndexOf(':');
          if (colon < 0) {
            listener.onError(Status.UNAVAILABLE.withDescription("control server '" + server + "' is not host:port"));
            return;
          }
          SocketAddress address = new InetSocketAddress(server.substring(0, colon), Integer.parseInt(server.substring(colon + 1)));
          // each replica is checked by its own name under TLS, not by the scheme's
          groups.add(new EquivalentAddressGroup(address, io.grpc.Attributes.newBuilder()
              .set(EquivalentAddressGroup.ATTR_AUTHORITY_OVERRIDE, server).build()));
        }
        listener.onResult(ResolutionResult.newBuilder().setAddressesOrError(io.grpc.StatusOr.fromValue(groups)).build());
      }

      @Override
      public void shutdown() {}
    };
  }
}
