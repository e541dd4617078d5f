package dev.inmesh.testing;

import dev.inmesh.internal.xds.WorkloadMetadata;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a workload registered with mesh-control: it holds an ADS stream open whose node carries
 * the {@link WorkloadMetadata}, ACKs what it is sent, and reconnects with jittered backoff.
 *
 * <p>This is the registration half of the ADS client only; it does not interpret the resources.
 * Servers that take their routing from elsewhere (a plain gRPC server, say) use it to join the
 * mesh. Closing it ends the stream, and mesh-control drops the workload after its grace period.
 *
 * <p>Given several mesh-control replicas (one channel each), it moves on to the next replica
 * whenever a stream ends, so a dead replica's workloads register again on a live one well within
 * the grace period.
 */
public final class WorkloadRegistration implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WorkloadRegistration.class);
  private static final String LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener";
  private static final long MAX_BACKOFF_MILLIS = 5_000;

  private final List<ManagedChannel> channels;
  private final Node node;
  private final ScheduledExecutorService scheduler;
  private volatile boolean closed;
  private volatile ClientCallStreamObserver<DiscoveryRequest> stream;
  private int failures;
  private volatile int current; // the channel in use; moves on to the next when a stream ends

  private WorkloadRegistration(List<ManagedChannel> channels, WorkloadMetadata workload) {
    if (channels.isEmpty()) {
      throw new IllegalArgumentException("at least one channel to mesh-control is needed");
    }
    this.channels = List.copyOf(channels);
    this.node = workload.toNode(workload.workloadName() + "~" + UUID.randomUUID());
    this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, "inmesh-registration-" + workload.service());
      thread.setDaemon(true);
      return thread;
    });
  }

  /** Opens the stream now, to one mesh-control. The channel stays the caller's to shut down, after {@link #close()}. */
  public static WorkloadRegistration start(ManagedChannel channel, WorkloadMetadata workload) {
    return start(List.of(channel), workload);
  }

  /**
   * Opens the stream now, on the first of {@code channels} (one per mesh-control replica, in order
   * of preference), moving to the next when a stream ends. The channels stay the caller's to shut
   * down, after {@link #close()}.
   */
  public static WorkloadRegistration start(List<ManagedChannel> channels, WorkloadMetadata workload) {
    WorkloadRegistration registration = new WorkloadRegistration(channels, workload);
    registration.scheduler.execute(registration::connect);
    return registration;
  }

  public String nodeId() {
    return node.getId();
  }

  private void connect() {
    if (closed) {
      return;
    }
    // our own backoff decides when to try again; the channel's reconnect backoff (up to two
    // minutes) would otherwise fail every attempt fast long after mesh-control is back
    ManagedChannel channel = channels.get(current);
    channel.resetConnectBackoff();
    AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(
        new ClientResponseObserver<DiscoveryRequest, DiscoveryResponse>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<DiscoveryRequest> requestStream) {
            stream = requestStream;
          }

          @Override
          public void onNext(DiscoveryResponse response) {
            failures = 0;
            send(DiscoveryRequest.newBuilder()
                .setTypeUrl(response.getTypeUrl())
                .setVersionInfo(response.getVersionInfo())
                .setResponseNonce(response.getNonce())
                .build());
          }

          @Override
          public void onError(Throwable t) {
            reconnectLater(t.getMessage());
          }

          @Override
          public void onCompleted() {
            reconnectLater("stream closed by mesh-control");
          }
        });
    send(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LISTENER_TYPE).build());
  }

  private void send(DiscoveryRequest request) {
    ClientCallStreamObserver<DiscoveryRequest> current = stream;
    if (current != null && !closed) {
      synchronized (this) {
        current.onNext(request);
      }
    }
  }

  private void reconnectLater(String reason) {
    if (closed) {
      return;
    }
    current = (current + 1) % channels.size();
    long base = Math.min(MAX_BACKOFF_MILLIS, 100L << Math.min(failures++, 6));
    long delay = base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1);
    try {
      scheduler.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // close() ran since the check above: nothing to retry
      return;
    }
    log.warn("registration of {} lost ({}); retrying {} in {} ms", node.getId(), reason,
        channels.get(current).authority(), delay);
  }

  /** Ends the stream; calling it again does nothing. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    ClientCallStreamObserver<DiscoveryRequest> current = stream;
    if (current != null) {
      synchronized (this) {
        current.onCompleted();
      }
    }
    scheduler.shutdownNow();
  }
}
