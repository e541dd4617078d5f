package dev.inmesh.control.cli;

import dev.inmesh.internal.xds.WorkloadMetadata;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A third-party xDS client in its smallest form: one ADS stream asking for every cluster, on the
 * read-only port. It either holds at most a fixed number of clusters, one more than its first
 * response brought, and NACKs a response with more, as a client with a resource limit does; or it
 * never answers at all, as a client that hangs does.
 */
public final class LimitedAdsClient implements AutoCloseable {
  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private final ManagedChannel channel;
  private final StreamObserver<DiscoveryRequest> requests;
  private final AtomicInteger limit = new AtomicInteger(-1);
  private String accepted = "";
  private final boolean answers;

  private LimitedAdsClient(String address, String nodeId, boolean answers) {
    this.answers = answers;
    this.channel = ManagedChannelBuilder.forTarget(address).usePlaintext().build();
    this.requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(new StreamObserver<>() {
      @Override
      public void onNext(DiscoveryResponse response) {
        answer(response);
      }

      @Override
      public void onError(Throwable t) {
      }

      @Override
      public void onCompleted() {
      }
    });
    Node node = Node.newBuilder().setId(nodeId).setUserAgentName("limited-xds-client").setMetadata(
        com.google.protobuf.Struct.newBuilder().putFields(WorkloadMetadata.NAMESPACE,
            com.google.protobuf.Value.newBuilder().setStringValue("default").build())).build();
    synchronized (this) {
      requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(CDS).build());
    }
  }

  /** Holds one cluster more than it was first sent; NACKs beyond that. */
  public static LimitedAdsClient withClusterLimit(String address, String nodeId) {
    return new LimitedAdsClient(address, nodeId, true);
  }

  /** Takes what it is sent and never ACKs or NACKs it. */
  public static LimitedAdsClient silent(String address, String nodeId) {
    return new LimitedAdsClient(address, nodeId, false);
  }

  private synchronized void answer(DiscoveryResponse response) {
    if (!answers) {
      return;
    }
    limit.compareAndSet(-1, response.getResourcesCount() + 1);
    DiscoveryRequest.Builder reply = DiscoveryRequest.newBuilder().setTypeUrl(CDS).setResponseNonce(response.getNonce());
    if (response.getResourcesCount() > limit.get()) {
      reply.setVersionInfo(accepted).setErrorDetail(com.google.rpc.Status.newBuilder().setCode(io.grpc.Status.Code.RESOURCE_EXHAUSTED.value())
          .setMessage("this client holds at most " + limit.get() + " clusters, the response has "
              + response.getResourcesCount()));
    } else {
      accepted = response.getVersionInfo();
      reply.setVersionInfo(accepted);
    }
    requests.onNext(reply.build());
  }

  @Override
  public void close() throws InterruptedException {
    synchronized (this) {
      requests.onCompleted();
    }
    channel.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
  }
}
