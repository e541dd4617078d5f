package dev.inmesh.examples.bookinfo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.ControlPlaneChannels;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.testing.AccessLogCapture;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.Chromium;
import dev.inmesh.testing.WorkloadRegistration;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterStats;
import io.envoyproxy.envoy.config.endpoint.v3.EndpointLoadMetricStats;
import io.envoyproxy.envoy.config.endpoint.v3.UpstreamLocalityStats;
import io.envoyproxy.envoy.service.load_stats.v3.LoadReportingServiceGrpc;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsRequest;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The dashboard's service graph in headless Chromium, as a person sees it: at Bookinfo's six
 * workloads, with the page served by the real mesh-control and traffic running, and at 50
 * services that registered and reported their load over mesh-control's real xDS and LRS ports.
 * Read from the rendered DOM: the edges are there (the ingress gateway → productpage, the graph's
 * entry; reviews → ratings, from reviews' gRPC channel), no node is a client library's, and no two
 * edge labels (nor a label and a node) overlap. The
 * screenshots are kept as {@code target/dashboard-graph-6.png} and {@code -50.png}.
 */
class DashboardGraphIT {
  private static final Pattern BOX = Pattern.compile(
      "<g class=\"(edge-label|node)[^\"]*\" data-(?:from|id)=\"([^\"]*)\"(?: data-to=\"([^\"]*)\")?>(?:<title>[^<]*</title>)?"
          + "<rect x=\"([-\\d.]+)\" y=\"([-\\d.]+)\" width=\"([\\d.]+)\" height=\"([\\d.]+)\"");

  /** A drawn box: a node, or an edge's label. */
  record Box(String kind, String name, double x, double y, double width, double height) {
    boolean overlaps(Box other) {
      return x < other.x + other.width && other.x < x + width && y < other.y + other.height && other.y < y + height;
    }
  }

  @Test
  void bookinfosGraphEntersAtTheGatewayAndShowsReviewsCallingRatingsWithLabelsThatDoNotOverlap() throws Exception {
    Chromium chromium = chromium();
    try (Bookinfo bookinfo = Bookinfo.start(Bookinfo.Ports.ephemeral()); AccessLogCapture log = new AccessLogCapture()) {
      HttpClient browser = HttpClient.newHttpClient();
      Runnable page = () -> {
        try {
          browser.send(HttpRequest.newBuilder(bookinfo.productPage()).build(), HttpResponse.BodyHandlers.discarding());
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      };
      // productpage spreads its calls over reviews v1, v2 and v3; v2 and v3 call ratings over gRPC
      Await.until(() -> {
            page.run();
            return owners(bookinfo.control(), "ratings").size() >= 2 && !owners(bookinfo.control(), "productpage").isEmpty();
          }, Bookinfo.WAIT, "load reports of reviews v2 and v3 calling ratings, and of the gateway calling productpage",
          () -> bookinfo.control().xds().loadReports().edges().toString());

      // pages go on loading while the dashboard is drawn, so that its rates are the running ones
      java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
      Thread traffic = new Thread(() -> {
        while (running.get()) {
          page.run();
          Await.sleep(Duration.ofMillis(50));
        }
      }, "product-page-traffic");
      traffic.start();
      String dom;
      try {
        Await.sleep(Duration.ofSeconds(3));
        dom = render(chromium, bookinfo.control(), "6");
      } finally {
        running.set(false);
        traffic.join();
      }

      assertThat(dom).contains("data-from=\"istio-ingressgateway.istio-system\" data-to=\"productpage.default/v1\"")
          .contains("data-from=\"reviews.default/v2\" data-to=\"ratings.default/v1\"")
          .contains("data-from=\"reviews.default/v3\" data-to=\"ratings.default/v1\"")
          .contains("data-from=\"productpage.default/v1\" data-to=\"details.default/v1\"")
          .contains("data-id=\"reviews.default/v1\"")
          .doesNotContain("data-id=\"grpc-client").doesNotContain("data-from=\"grpc-client");
      List<Box> boxes = boxes(dom);
      assertThat(boxes).filteredOn(b -> b.kind().equals("node")).extracting(Box::name).containsExactlyInAnyOrder(
          "istio-ingressgateway.istio-system", "productpage.default/v1", "details.default/v1", "reviews.default", "reviews.default/v1", "reviews.default/v2",
          "reviews.default/v3", "ratings.default/v1", "httpbin.default/v1", "httpbin.default/v2");
      assertReadable(boxes, 5);
      // Istio's metrics as the gateway reports them: reporter="source", the gateway the source workload
      List<String> fromGateway = bookinfo.gateway().scrapeMetrics().lines()
          .filter(line -> line.startsWith("istio_requests_total{") && line.contains("reporter=\"source\"")
              && line.contains("source_workload=\"istio-ingressgateway\"")
              && line.contains("source_workload_namespace=\"istio-system\"")
              && line.contains("source_principal=\"spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway\"")
              && line.contains("destination_service=\"productpage.default.svc.cluster.local\"")
              && line.contains("response_code=\"200\""))
          .toList();
      assertThat(fromGateway).hasSize(1);
      assertThat(Double.parseDouble(fromGateway.get(0).substring(fromGateway.get(0).lastIndexOf(' ') + 1)))
          .as(fromGateway.get(0)).isGreaterThan(1);
      // and its access log: the browser's request, sent on to productpage's endpoint (only the gateway calls productpage)
      assertThat(log.lines()).anySatisfy(line -> assertThat(line).contains("\"GET /productpage ")
          .endsWith("\"127.0.0.1:" + bookinfo.targetPort("productpage") + "\""));
    }
  }

  @Test
  void fiftyServicesAreLaidOutWithLabelsThatDoNotOverlap() throws Exception {
    Chromium chromium = chromium();
    MeshControl control = MeshControl.start(MeshControlOptions.ephemeral().withoutCa().withInsecureXds());
    ManagedChannel channel = ControlPlaneChannels.plaintext("127.0.0.1:" + control.xdsPort());
    List<WorkloadRegistration> registrations = new ArrayList<>();
    List<StreamObserver<LoadStatsRequest>> reports = new ArrayList<>();
    try {
      Map<String, List<String>> calls = fiftyServices();
      Map<String, String> nodes = new LinkedHashMap<>();
      for (String service : calls.keySet()) {
        WorkloadRegistration registration = WorkloadRegistration.start(channel, new WorkloadMetadata(service, "default",
            service, service, Map.of("app", service, "version", "v1"), "127.0.0.1",
            List.of(new ServicePort("http", 9080, 9080, "http")), null));
        registrations.add(registration);
        nodes.put(service, registration.nodeId());
      }
      Await.until(() -> control.workloads().size() == calls.size(), Duration.ofSeconds(60), "50 registered workloads");
      int edges = 0;
      int seed = 1;
      for (var caller : calls.entrySet()) {
        if (caller.getValue().isEmpty()) {
          continue;
        }
        StreamObserver<LoadStatsRequest> stream = LoadReportingServiceGrpc.newStub(channel).streamLoadStats(ignore());
        reports.add(stream);
        LoadStatsRequest.Builder request = LoadStatsRequest.newBuilder().setNode(Node.newBuilder()
            .setId(nodes.get(caller.getKey()))
            .setMetadata(com.google.protobuf.Struct.newBuilder().putFields(WorkloadMetadata.NAMESPACE,
                com.google.protobuf.Value.newBuilder().setStringValue("default").build())));
        for (String callee : caller.getValue()) {
          request.addClusterStats(stats("outbound|9080||" + callee + ".default.svc.cluster.local", seed++));
          edges++;
        }
        stream.onNext(request.build());
      }
      int expected = edges;
      Await.until(() -> control.xds().loadReports().edges().size() == expected, Duration.ofSeconds(60),
          expected + " reported edges");

      String dom = render(chromium, control, "50");

      List<Box> boxes = boxes(dom);
      assertThat(boxes).filteredOn(b -> b.kind().equals("node")).hasSize(50)
          .allSatisfy(node -> assertThat(node.name()).matches("[a-z]+-\\d\\d\\.default/v1"));
      assertReadable(boxes, expected);
      assertThat(dom).contains("data-from=\"frontend-00.default/v1\" data-to=\"api-00.default/v1\"");
    } finally {
      reports.forEach(StreamObserver::onCompleted);
      registrations.forEach(WorkloadRegistration::close);
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      control.close();
    }
  }

  /**
   * Every edge has a label, each big enough for its text, and no label overlaps another label or
   * a node: the boxes are where the page drew them.
   */
  private static void assertReadable(List<Box> boxes, int edges) {
    List<Box> labels = boxes.stream().filter(b -> b.kind().equals("edge-label")).toList();
    assertThat(labels).hasSizeGreaterThanOrEqualTo(edges)
        .allSatisfy(label -> assertThat(label.width()).as("%s", label).isGreaterThan(60));
    for (Box label : labels) {
      for (Box other : boxes) {
        if (other != label) {
          assertThat(label.overlaps(other)).as("%s overlaps %s", label, other).isFalse();
        }
      }
    }
  }

  /** Loads the signed-in dashboard, keeps a screenshot the size of the graph, and returns the DOM. */
  private static String render(Chromium chromium, MeshControl control, String name) throws IOException {
    String url = "http://127.0.0.1:" + control.httpPort() + "/dashboard#token="
        + control.adminCredential().orElseThrow().token();
    String dom = chromium.dumpDom(url, 1280, 900);
    Matcher svg = Pattern.compile("<svg id=\"graph\" width=\"(\\d+)\" height=\"(\\d+)\"").matcher(dom);
    assertThat(svg.find()).as("the graph is drawn:\n%s", dom).isTrue();
    Path screenshot = Path.of("target", "dashboard-graph-" + name + ".png").toAbsolutePath();
    Files.createDirectories(screenshot.getParent());
    Files.deleteIfExists(screenshot);
    chromium.screenshot(url, screenshot, Math.max(1280, Integer.parseInt(svg.group(1)) + 80),
        Integer.parseInt(svg.group(2)) + 260);
    assertThat(Files.size(screenshot)).as("a screenshot with something on it").isGreaterThan(10_000);
    return dom;
  }

  private static List<Box> boxes(String dom) {
    List<Box> boxes = new ArrayList<>();
    Matcher m = BOX.matcher(dom);
    while (m.find()) {
      String name = m.group(3) == null ? m.group(2) : m.group(2) + " -> " + m.group(3);
      boxes.add(new Box(m.group(1), name, Double.parseDouble(m.group(4)), Double.parseDouble(m.group(5)),
          Double.parseDouble(m.group(6)), Double.parseDouble(m.group(7))));
    }
    return boxes;
  }

  /** The nodes whose load reports name a cluster of {@code service}. */
  private static List<String> owners(MeshControl control, String service) {
    return control.xds().loadReports().edges().stream()
        .filter(e -> e.service().startsWith(service + ".") && e.succeeded() > 0)
        .map(e -> e.owner()).distinct().toList();
  }

  /**
   * Five tiers of a made-up shop, callers to callees: 1 frontend, 4 api, 10 logic, 20 data and 15
   * store services; each calls one to three of the next tier.
   */
  private static Map<String, List<String>> fiftyServices() {
    String[] tiers = {"frontend", "api", "logic", "data", "store"};
    int[] sizes = {1, 4, 10, 20, 15};
    Map<String, List<String>> calls = new LinkedHashMap<>();
    for (int t = 0; t < tiers.length; t++) {
      for (int i = 0; i < sizes[t]; i++) {
        List<String> callees = new ArrayList<>();
        if (t + 1 < tiers.length) {
          int next = sizes[t + 1];
          int fanOut = Math.max(1, Math.min(3, (next + sizes[t] - 1) / sizes[t]));
          for (int k = 0; k < fanOut; k++) {
            String callee = String.format("%s-%02d", tiers[t + 1], (i * fanOut + k) % next);
            if (!callees.contains(callee)) {
              callees.add(callee);
            }
          }
        }
        calls.put(String.format("%s-%02d", tiers[t], i), callees);
      }
    }
    return calls;
  }

  /** One report interval's counts to a cluster, with latency, varied by {@code seed}. */
  private static ClusterStats stats(String cluster, int seed) {
    long ok = 20L + (seed * 37L) % 400;
    long failed = seed % 5 == 0 ? ok / 50 : 0;
    return ClusterStats.newBuilder().setClusterName(cluster)
        .setLoadReportInterval(com.google.protobuf.util.Durations.fromSeconds(10))
        .addUpstreamLocalityStats(UpstreamLocalityStats.newBuilder()
            .setTotalSuccessfulRequests(ok).setTotalErrorRequests(failed)
            .addLoadMetricStats(EndpointLoadMetricStats.newBuilder().setMetricName("latency_p50_ms")
                .setNumRequestsFinishedWithMetric(1).setTotalMetricValue(1 + seed % 7))
            .addLoadMetricStats(EndpointLoadMetricStats.newBuilder().setMetricName("latency_p99_ms")
                .setNumRequestsFinishedWithMetric(1).setTotalMetricValue(10 + (seed * 13) % 90)))
        .build();
  }

  private static StreamObserver<LoadStatsResponse> ignore() {
    return new StreamObserver<>() {
      @Override
      public void onNext(LoadStatsResponse response) {}

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    };
  }

  private static Chromium chromium() {
    var found = Chromium.find();
    Assumptions.assumeTrue(found.isPresent(), "no Chromium on this machine; .ci/run installs Debian's chromium");
    return found.get();
  }
}
