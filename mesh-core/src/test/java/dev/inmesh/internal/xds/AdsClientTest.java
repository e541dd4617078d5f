package dev.inmesh.internal.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.fail;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.rpc.Code;
import dev.inmesh.internal.model.Endpoint;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The real {@link AdsClient} against ADS servers in the same JVM that the test drives by hand:
 * every request the client sends is recorded, every response is the test's.
 */
class AdsClientTest {
  private static final long TIMEOUT_SECONDS = 5;
  private static final AdsNode NODE = new AdsNode(Node.newBuilder().setId("reviews-v1-7f9c.shop").setCluster("reviews").build());
  private static final String LISTENER = "reviews.shop.svc.cluster.local:9080";
  private static final String ROUTES = "reviews-routes";
  private static final String CLUSTER = "outbound|9080||reviews.shop.svc.cluster.local";
  private static final String SERVICE = "reviews.shop";

  private final List<ManagedChannel> channels = new CopyOnWriteArrayList<>();
  private final BlockingQueue<XdsResources> published = new LinkedBlockingQueue<>();
  private volatile XdsResources lastPublished;
  private ControlServer serverA;
  private ControlServer serverB;
  private ScheduledExecutorService sync;
  private AdsClient client;

  /** An ADS server that records what it is asked and answers only when the test says so. */
  private static final class ControlServer extends AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase {
    final String name = InProcessServerBuilder.generateName();
    final BlockingQueue<DiscoveryRequest> requests = new LinkedBlockingQueue<>();
    final AtomicInteger streams = new AtomicInteger();
    /** Runs as each request arrives, before it is queued. */
    volatile java.util.function.Consumer<DiscoveryRequest> onRequest = request -> {};
    volatile StreamObserver<DiscoveryResponse> responses;
    Server server;

    static ControlServer start() throws IOException {
      ControlServer control = new ControlServer();
      control.server = InProcessServerBuilder.forName(control.name).directExecutor().addService(control).build().start();
      return control;
    }

    @Override
    public StreamObserver<DiscoveryRequest> streamAggregatedResources(StreamObserver<DiscoveryResponse> responseObserver) {
      responses = responseObserver;
      streams.incrementAndGet();
      return new StreamObserver<>() {
        @Override
        public void onNext(DiscoveryRequest request) {
          onRequest.accept(request);
          requests.add(request);
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }

    synchronized void send(DiscoveryResponse response) {
      assertThat(responses).as("a client stream on %s", name).isNotNull();
      responses.onNext(response);
    }

    DiscoveryRequest nextRequest() throws InterruptedException {
      DiscoveryRequest request = requests.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      if (request == null) {
        fail("no DiscoveryRequest arrived within " + TIMEOUT_SECONDS + " s");
      }
      return request;
    }
  }

  @BeforeEach
  void startServers() throws IOException {
    serverA = ControlServer.start();
    serverB = ControlServer.start();
    sync = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "ads-sync");
      thread.setDaemon(true);
      return thread;
    });
    client = new AdsClient(List.of("server-a", "server-b"), NODE, sync, this::channel, resources -> {
      lastPublished = resources;
      published.add(resources);
    }, new SplittableRandom(42));
  }

  @AfterEach
  void stopEverything() throws Exception {
    client.close();
    // let the close (and the stream end it causes) run before the executor stops taking work
    sync.submit(() -> {}).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    sync.shutdown();
    sync.awaitTermination(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    channels.forEach(ManagedChannel::shutdownNow);
    serverA.server.shutdownNow();
    serverB.server.shutdownNow();
  }

  private ManagedChannel channel(String address) {
    ControlServer target = switch (address) {
      case "server-a" -> serverA;
      case "server-b" -> serverB;
      default -> throw new IllegalArgumentException("no in-process server for " + address);
    };
    ManagedChannel channel = InProcessChannelBuilder.forName(target.name).directExecutor().build();
    channels.add(channel);
    return channel;
  }

  // ---------------------------------------------------------------- resources

  private static Listener listener(String name, String routeConfigName) {
    HttpConnectionManager manager = HttpConnectionManager.newBuilder()
        .setRds(Rds.newBuilder().setRouteConfigName(routeConfigName)
            .setConfigSource(ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())))
        .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router").setTypedConfig(Any.pack(Router.getDefaultInstance())))
        .build();
    return Listener.newBuilder().setName(name).setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(manager))).build();
  }

  private static RouteConfiguration routeConfiguration(String name, String cluster) {
    return RouteConfiguration.newBuilder().setName(name)
        .addVirtualHosts(VirtualHost.newBuilder().setName("reviews").addDomains("*")
            .addRoutes(Route.newBuilder().setName("default").setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRoute(RouteAction.newBuilder().setCluster(cluster))))
        .build();
  }

  private static Cluster cluster(String name, String serviceName) {
    return Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setServiceName(serviceName)
            .setEdsConfig(ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())))
        .build();
  }

  private static ClusterLoadAssignment assignment(String serviceName, String... addresses) {
    LocalityLbEndpoints.Builder group = LocalityLbEndpoints.newBuilder();
    for (String address : addresses) {
      group.addLbEndpoints(LbEndpoint.newBuilder().setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
          .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(address).setPortValue(9080)))));
    }
    return ClusterLoadAssignment.newBuilder().setClusterName(serviceName).addEndpoints(group).build();
  }

  private static DiscoveryResponse response(String type, String version, String nonce, Message... resources) {
    DiscoveryResponse.Builder response = DiscoveryResponse.newBuilder().setTypeUrl(type).setVersionInfo(version).setNonce(nonce);
    for (Message resource : resources) {
      response.addResources(Any.pack(resource));
    }
    return response.build();
  }

  // ---------------------------------------------------------------- steps

  private XdsResources nextPublished() throws InterruptedException {
    XdsResources resources = published.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    if (resources == null) {
      fail("nothing was published within " + TIMEOUT_SECONDS + " s");
    }
    return resources;
  }

  private String waitingFor() throws Exception {
    // the client's state belongs to its executor; read it there
    return sync.submit(client::waitingFor).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  private static void assertRequest(DiscoveryRequest request, String type, String version, String nonce, String... names) {
    assertThat(request.getTypeUrl()).isEqualTo(type);
    assertThat(request.getVersionInfo()).as("version_info of %s", type).isEqualTo(version);
    assertThat(request.getResponseNonce()).as("response_nonce of %s", type).isEqualTo(nonce);
    assertThat(request.getResourceNamesList()).as("resource_names of %s", type).containsExactly(names);
    assertThat(request.hasErrorDetail()).as("%s carries an error_detail", type).isFalse();
  }

  /** Starts the client on server A and answers LDS, CDS, RDS and EDS at version 1, checking each ACK. */
  private XdsResources acceptVersionOneOfEverything() throws Exception {
    client.start();
    assertRequest(serverA.nextRequest(), AdsClient.LDS, "", "");
    assertRequest(serverA.nextRequest(), AdsClient.CDS, "", "");

    serverA.send(response(AdsClient.LDS, "1", "lds-1", listener(LISTENER, ROUTES)));
    assertRequest(serverA.nextRequest(), AdsClient.LDS, "1", "lds-1");
    assertRequest(serverA.nextRequest(), AdsClient.RDS, "", "", ROUTES);
    nextPublished();

    serverA.send(response(AdsClient.CDS, "1", "cds-1", cluster(CLUSTER, SERVICE)));
    assertRequest(serverA.nextRequest(), AdsClient.CDS, "1", "cds-1");
    assertRequest(serverA.nextRequest(), AdsClient.EDS, "", "", SERVICE);
    nextPublished();

    serverA.send(response(AdsClient.RDS, "1", "rds-1", routeConfiguration(ROUTES, CLUSTER)));
    assertRequest(serverA.nextRequest(), AdsClient.RDS, "1", "rds-1", ROUTES);
    nextPublished();

    serverA.send(response(AdsClient.EDS, "1", "eds-1", assignment(SERVICE, "10.0.0.5", "10.0.0.6")));
    assertRequest(serverA.nextRequest(), AdsClient.EDS, "1", "eds-1", SERVICE);
    XdsResources all = nextPublished();
    assertThat(all.complete()).isTrue();
    return all;
  }

  // ---------------------------------------------------------------- tests

  @Test
  void theFirstRequestCarriesTheNodeAndLaterOnesDoNot() throws Exception {
    client.start();

    DiscoveryRequest first = serverA.nextRequest();
    DiscoveryRequest second = serverA.nextRequest();
    serverA.send(response(AdsClient.LDS, "1", "lds-1", listener(LISTENER, ROUTES)));
    DiscoveryRequest ack = serverA.nextRequest();

    assertThat(first.getNode()).isEqualTo(NODE.proto());
    assertThat(second.hasNode()).isFalse();
    assertThat(ack.hasNode()).isFalse();
  }

  @Test
  void listenersAndClustersAreRequestedFirstAsWildcards() throws Exception {
    client.start();

    assertRequest(serverA.nextRequest(), AdsClient.LDS, "", "");
    assertRequest(serverA.nextRequest(), AdsClient.CDS, "", "");
    assertThat(serverA.requests).isEmpty();
  }

  @Test
  void aListenerThatNamesARouteConfigurationSubscribesToItAfterTheAck() throws Exception {
    client.start();
    serverA.nextRequest();
    serverA.nextRequest();

    serverA.send(response(AdsClient.LDS, "7", "lds-nonce-1", listener(LISTENER, ROUTES), listener("ratings:9080", "ratings-routes")));

    assertRequest(serverA.nextRequest(), AdsClient.LDS, "7", "lds-nonce-1");
    assertRequest(serverA.nextRequest(), AdsClient.RDS, "", "", "ratings-routes", ROUTES);
  }

  @Test
  void anAckLeavesOnlyOnceWhatItAcknowledgesIsInForce() throws Exception {
    // mesh-control (its converged(), meshctl status) takes an ACKed version as the one the client routes by
    List<String> inForceAtAck = new CopyOnWriteArrayList<>();
    serverA.onRequest = request -> {
      if (request.getTypeUrl().equals(AdsClient.LDS) && request.getVersionInfo().equals("7")) {
        XdsResources now = lastPublished;
        inForceAtAck.add(now == null ? "nothing" : now.versions().get("LDS") + " " + now.listeners().keySet());
      }
    };
    client.start();
    serverA.nextRequest();
    serverA.nextRequest();

    serverA.send(response(AdsClient.LDS, "7", "lds-nonce-1", listener(LISTENER, ROUTES)));

    assertRequest(serverA.nextRequest(), AdsClient.LDS, "7", "lds-nonce-1");
    assertThat(inForceAtAck).containsExactly("7 [" + LISTENER + "]");
  }

  @Test
  void aClusterThatNamesAnEdsServiceSubscribesToItsEndpointsAfterTheAck() throws Exception {
    client.start();
    serverA.nextRequest();
    serverA.nextRequest();

    serverA.send(response(AdsClient.CDS, "3", "cds-nonce-1", cluster(CLUSTER, SERVICE), cluster("outbound|9080||ratings", "")));

    assertRequest(serverA.nextRequest(), AdsClient.CDS, "3", "cds-nonce-1");
    // a cluster without a service name asks for endpoints under its own name
    assertRequest(serverA.nextRequest(), AdsClient.EDS, "", "", "outbound|9080||ratings", SERVICE);
  }

  @Test
  void acceptedResourcesArePublishedWithTheirVersions() throws Exception {
    XdsResources all = acceptVersionOneOfEverything();

    assertThat(all.listeners()).containsOnlyKeys(LISTENER);
    assertThat(all.listeners().get(LISTENER).routeConfigName()).isEqualTo(ROUTES);
    assertThat(all.routes()).containsOnlyKeys(ROUTES);
    assertThat(all.clusters()).containsOnlyKeys(CLUSTER);
    assertThat(all.clusters().get(CLUSTER).edsServiceName()).isEqualTo(SERVICE);
    assertThat(all.endpoints()).containsOnlyKeys(SERVICE);
    assertThat(all.endpoints().get(SERVICE)).containsExactly(Endpoint.of("10.0.0.5", 9080), Endpoint.of("10.0.0.6", 9080));
    assertThat(all.versions()).contains(entry("LDS", "1"), entry("CDS", "1"), entry("RDS", "1"), entry("EDS", "1"));
    assertThat(all.lastNacks()).isEmpty();
    assertThat(all.routeTable(all.listeners().get(LISTENER))).isPresent();
  }

  @Test
  void aListenerThatCannotBeHonouredIsNackedAndChangesNothing() throws Exception {
    XdsResources before = acceptVersionOneOfEverything();
    Listener socketListener = Listener.newBuilder().setName("inbound-9080").build();

    serverA.send(response(AdsClient.LDS, "2", "lds-2", listener(LISTENER, "other-routes"), socketListener));

    DiscoveryRequest nack = serverA.nextRequest();
    assertThat(nack.getTypeUrl()).isEqualTo(AdsClient.LDS);
    assertThat(nack.getVersionInfo()).isEqualTo("1");
    assertThat(nack.getResponseNonce()).isEqualTo("lds-2");
    assertThat(nack.getErrorDetail().getCode()).isEqualTo(Code.INVALID_ARGUMENT_VALUE);
    assertThat(nack.getErrorDetail().getMessage()).contains("Listener inbound-9080").contains("api_listener");
    XdsResources after = nextPublished();
    assertThat(after.listeners()).isEqualTo(before.listeners());
    assertThat(after.routes()).isEqualTo(before.routes());
    assertThat(after.clusters()).isEqualTo(before.clusters());
    assertThat(after.endpoints()).isEqualTo(before.endpoints());
    assertThat(after.versions()).isEqualTo(before.versions());
    assertThat(after.complete()).isTrue();
    assertThat(after.lastNacks()).containsOnlyKeys("LDS");
    assertThat(after.lastNacks().get("LDS")).startsWith("2: ").contains("Listener inbound-9080: api_listener");
    // the half-good response must not have moved the route subscription to other-routes
    assertThat(serverA.requests).isEmpty();
  }

  @Test
  void aClusterThatCannotBeHonouredIsNackedWithTheFieldNamed() throws Exception {
    XdsResources before = acceptVersionOneOfEverything();
    Cluster passthrough = cluster("passthrough", "").toBuilder().setType(Cluster.DiscoveryType.ORIGINAL_DST).build();

    serverA.send(response(AdsClient.CDS, "2", "cds-2", passthrough));

    DiscoveryRequest nack = serverA.nextRequest();
    assertThat(nack.getTypeUrl()).isEqualTo(AdsClient.CDS);
    assertThat(nack.getVersionInfo()).isEqualTo("1");
    assertThat(nack.getResponseNonce()).isEqualTo("cds-2");
    assertThat(nack.getErrorDetail().getMessage()).contains("Cluster passthrough: type").contains("ORIGINAL_DST");
    XdsResources after = nextPublished();
    assertThat(after.clusters()).isEqualTo(before.clusters());
    assertThat(after.endpoints()).isEqualTo(before.endpoints());
    assertThat(after.lastNacks()).containsOnlyKeys("CDS");
  }

  @Test
  void aNackBeforeAnythingWasAcceptedCarriesAnEmptyVersion() throws Exception {
    client.start();
    serverA.nextRequest();
    serverA.nextRequest();

    serverA.send(response(AdsClient.LDS, "1", "lds-1", Listener.newBuilder().setName("inbound-9080").build()));

    DiscoveryRequest nack = serverA.nextRequest();
    assertThat(nack.getVersionInfo()).isEmpty();
    assertThat(nack.getResponseNonce()).isEqualTo("lds-1");
    assertThat(nack.hasErrorDetail()).isTrue();
    XdsResources nothingAccepted = nextPublished();
    assertThat(nothingAccepted.listeners()).isEmpty();
    assertThat(nothingAccepted.complete()).isFalse();
  }

  @Test
  void anAcceptedResponseAfterANackClearsItAndIsAckedWithItsOwnVersion() throws Exception {
    acceptVersionOneOfEverything();
    serverA.send(response(AdsClient.LDS, "2", "lds-2", Listener.newBuilder().setName("inbound-9080").build()));
    serverA.nextRequest();
    nextPublished();

    serverA.send(response(AdsClient.LDS, "3", "lds-3", listener(LISTENER, ROUTES), listener("ratings:9080", ROUTES)));

    assertRequest(serverA.nextRequest(), AdsClient.LDS, "3", "lds-3");
    XdsResources after = nextPublished();
    assertThat(after.lastNacks()).isEmpty();
    assertThat(after.listeners()).containsOnlyKeys(LISTENER, "ratings:9080");
    assertThat(after.versions()).contains(entry("LDS", "3"));
  }

  @Test
  void aClusterThatDisappearsTakesItsEndpointsAndSubscriptionWithIt() throws Exception {
    acceptVersionOneOfEverything();

    serverA.send(response(AdsClient.CDS, "2", "cds-2", cluster("outbound|9080||ratings", "ratings.shop")));

    assertRequest(serverA.nextRequest(), AdsClient.CDS, "2", "cds-2");
    assertRequest(serverA.nextRequest(), AdsClient.EDS, "1", "eds-1", "ratings.shop");
    XdsResources after = nextPublished();
    assertThat(after.clusters()).containsOnlyKeys("outbound|9080||ratings");
    assertThat(after.endpoints()).isEmpty();
    assertThat(after.complete()).isFalse();
  }

  @Test
  void aResponseOfATypeNeverRequestedIsNackedWithItsNonce() throws Exception {
    client.start();
    serverA.nextRequest();
    serverA.nextRequest();
    String secrets = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

    serverA.send(DiscoveryResponse.newBuilder().setTypeUrl(secrets).setVersionInfo("1").setNonce("sds-1").build());

    DiscoveryRequest nack = serverA.nextRequest();
    assertThat(nack.getTypeUrl()).isEqualTo(secrets);
    assertThat(nack.getErrorDetail().getMessage()).contains(secrets);
    assertThat(nack.getResponseNonce()).isEqualTo("sds-1");
  }

  @Test
  void completeOnlyOnceListenersClustersAndEveryNamedRouteConfigurationAndAssignmentHaveArrived() throws Exception {
    client.start();
    serverA.nextRequest();
    serverA.nextRequest();

    serverA.send(response(AdsClient.LDS, "1", "lds-1", listener(LISTENER, ROUTES)));
    boolean afterListeners = nextPublished().complete();
    serverA.send(response(AdsClient.CDS, "1", "cds-1", cluster(CLUSTER, SERVICE), cluster("outbound|9080||ratings", "ratings.shop")));
    boolean afterClusters = nextPublished().complete();
    serverA.send(response(AdsClient.RDS, "1", "rds-1", routeConfiguration(ROUTES, CLUSTER)));
    boolean afterRoutes = nextPublished().complete();
    serverA.send(response(AdsClient.EDS, "1", "eds-1", assignment(SERVICE, "10.0.0.5")));
    boolean afterOneAssignment = nextPublished().complete();
    serverA.send(response(AdsClient.EDS, "2", "eds-2", assignment("ratings.shop", "10.0.1.5")));
    boolean afterBothAssignments = nextPublished().complete();

    assertThat(List.of(afterListeners, afterClusters, afterRoutes, afterOneAssignment, afterBothAssignments))
        .containsExactly(false, false, false, false, true);
  }

  @Test
  void listenersAndClustersWithoutAnythingToFollowAreComplete() throws Exception {
    client.start();
    serverA.nextRequest();
    serverA.nextRequest();

    serverA.send(response(AdsClient.LDS, "1", "lds-1"));
    boolean afterListeners = nextPublished().complete();
    serverA.send(response(AdsClient.CDS, "1", "cds-1"));
    boolean afterClusters = nextPublished().complete();

    assertThat(afterListeners).isFalse();
    assertThat(afterClusters).isTrue();
  }

  @Test
  void waitingForNamesWhatIsMissing() throws Exception {
    client.start();
    serverA.nextRequest();
    serverA.nextRequest();
    String atFirst = waitingFor();

    serverA.send(response(AdsClient.LDS, "1", "lds-1", listener(LISTENER, ROUTES)));
    nextPublished();
    serverA.send(response(AdsClient.CDS, "1", "cds-1", cluster(CLUSTER, SERVICE)));
    nextPublished();
    String afterListenersAndClusters = waitingFor();

    serverA.send(response(AdsClient.RDS, "1", "rds-1", routeConfiguration(ROUTES, CLUSTER)));
    nextPublished();
    serverA.send(response(AdsClient.EDS, "1", "eds-1", assignment(SERVICE, "10.0.0.5")));
    nextPublished();
    String atLast = waitingFor();

    assertThat(atFirst).isEqualTo("LDS, CDS from server-a (connecting to server-a)");
    assertThat(afterListenersAndClusters).isEqualTo("RDS [" + ROUTES + "], EDS [" + SERVICE + "] from server-a (connected to server-a)");
    assertThat(atLast).isEqualTo("nothing from server-a (connected to server-a)");
  }

  @Test
  void whenTheStreamFailsTheClientMovesToTheNextServerAndKeepsWhatItAccepted() throws Exception {
    XdsResources before = acceptVersionOneOfEverything();

    serverA.server.shutdownNow();

    DiscoveryRequest first = serverB.nextRequest();
    assertThat(first.getNode()).isEqualTo(NODE.proto());
    assertThat(waitingFor()).isEqualTo("nothing from server-b (connecting to server-b)");
    assertThat(published).as("nothing is published while the control plane is away").isEmpty();

    serverB.send(response(AdsClient.LDS, "2", "b-lds-1", listener(LISTENER, ROUTES)));
    XdsResources after = nextPublished();
    assertThat(after.routes()).isEqualTo(before.routes());
    assertThat(after.clusters()).isEqualTo(before.clusters());
    assertThat(after.endpoints()).isEqualTo(before.endpoints());
    assertThat(after.versions()).contains(entry("LDS", "2"), entry("CDS", "1"), entry("RDS", "1"), entry("EDS", "1"));
    assertThat(after.complete()).isTrue();
    assertThat(serverB.streams).hasValue(1);
  }

  @Test
  void onReconnectItResendsEverySubscriptionWithItsVersionAndNoNonce() throws Exception {
    acceptVersionOneOfEverything();

    serverA.server.shutdownNow();

    DiscoveryRequest lds = serverB.nextRequest();
    assertRequest(lds, AdsClient.LDS, "1", "");
    assertThat(lds.hasNode()).isTrue();
    assertRequest(serverB.nextRequest(), AdsClient.CDS, "1", "");
    assertRequest(serverB.nextRequest(), AdsClient.RDS, "1", "", ROUTES);
    assertRequest(serverB.nextRequest(), AdsClient.EDS, "1", "", SERVICE);
  }

  @Test
  void responsesOnTheNewStreamAreAckedWithItsNonces() throws Exception {
    acceptVersionOneOfEverything();
    serverA.server.shutdownNow();
    for (int i = 0; i < 4; i++) {
      serverB.nextRequest();
    }

    serverB.send(response(AdsClient.EDS, "2", "b-eds-1", assignment(SERVICE, "10.0.0.9")));

    assertRequest(serverB.nextRequest(), AdsClient.EDS, "2", "b-eds-1", SERVICE);
    assertThat(nextPublished().endpoints().get(SERVICE)).containsExactly(Endpoint.of("10.0.0.9", 9080));
  }

  private void holdRemovalsFor(java.time.Duration hold) {
    client.close();
    client = new AdsClient(List.of("server-a", "server-b"), NODE, sync, this::channel, resources -> {
      lastPublished = resources;
      published.add(resources);
    }, new SplittableRandom(42), hold);
  }

  @Test
  void rightAfterAReconnectAnUpdateThatDropsAServiceKeepsItUntilTheHoldEnds() throws Exception {
    holdRemovalsFor(java.time.Duration.ofSeconds(2));
    XdsResources before = acceptVersionOneOfEverything();
    serverA.server.shutdownNow();
    for (int i = 0; i < 4; i++) {
      serverB.nextRequest();
    }

    // a control server that restarted and has not heard from the service's workloads yet
    serverB.send(response(AdsClient.EDS, "2", "b-eds-1", assignment(SERVICE)));
    XdsResources emptied = nextPublished();
    serverB.send(response(AdsClient.CDS, "2", "b-cds-1", cluster("outbound|9080||ratings.default.svc.cluster.local", "ratings")));
    XdsResources dropped = nextPublished();
    serverB.send(response(AdsClient.LDS, "2", "b-lds-1"));
    XdsResources noListener = nextPublished();

    assertThat(emptied.endpoints().get(SERVICE)).isEqualTo(before.endpoints().get(SERVICE));
    assertThat(dropped.clusters()).containsKeys(CLUSTER, "outbound|9080||ratings.default.svc.cluster.local");
    assertThat(dropped.versions()).containsEntry("CDS", "2");
    assertThat(noListener.listeners()).containsKey(LISTENER);
    assertThat(noListener.routes()).containsKey(ROUTES);
    assertThat(noListener.endpoints().get(SERVICE)).isNotEmpty();

    XdsResources afterHold = nextPublished();
    assertThat(afterHold.listeners()).isEmpty();
    assertThat(afterHold.clusters()).containsOnlyKeys("outbound|9080||ratings.default.svc.cluster.local");
    assertThat(afterHold.endpoints()).doesNotContainKey(SERVICE);
  }

  @Test
  void whileHoldingAnUpdateThatBringsTheServiceBackIsTakenAsItIs() throws Exception {
    holdRemovalsFor(java.time.Duration.ofSeconds(30));
    acceptVersionOneOfEverything();
    serverA.server.shutdownNow();
    for (int i = 0; i < 4; i++) {
      serverB.nextRequest();
    }
    serverB.send(response(AdsClient.EDS, "2", "b-eds-1", assignment(SERVICE)));
    nextPublished();

    serverB.send(response(AdsClient.EDS, "3", "b-eds-2", assignment(SERVICE, "10.0.0.9")));

    assertThat(nextPublished().endpoints().get(SERVICE)).containsExactly(Endpoint.of("10.0.0.9", 9080));
  }

  @Test
  void onTheSameStreamARemovalTakesEffectAtOnce() throws Exception {
    holdRemovalsFor(java.time.Duration.ofSeconds(30));
    acceptVersionOneOfEverything();

    serverA.send(response(AdsClient.EDS, "2", "eds-2", assignment(SERVICE)));
    serverA.send(response(AdsClient.LDS, "2", "lds-2"));

    assertThat(nextPublished().endpoints().get(SERVICE)).isEmpty();
    assertThat(nextPublished().listeners()).isEmpty();
  }

  @Test
  void aHoldThatRunsOutWhileDisconnectedKeepsHoldingUntilAStreamHasBeenUpForAWholeHold() throws Exception {
    holdRemovalsFor(java.time.Duration.ofMillis(800));
    acceptVersionOneOfEverything();
    serverA.server.shutdownNow();
    for (int i = 0; i < 4; i++) {
      serverB.nextRequest();
    }
    // a restarted server that knows part of the mesh, then dies again before the hold is over
    serverB.send(response(AdsClient.EDS, "2", "b-eds-1", assignment(SERVICE)));
    assertThat(nextPublished().endpoints().get(SERVICE)).isNotEmpty();

    serverB.server.shutdownNow();

    assertThat(published.poll(2, TimeUnit.SECONDS)).as("no partial view goes in force while no stream is up").isNull();
  }
}
