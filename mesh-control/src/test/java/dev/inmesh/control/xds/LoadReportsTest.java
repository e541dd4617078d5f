package dev.inmesh.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.testing.MutableClock;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterStats;
import io.envoyproxy.envoy.config.endpoint.v3.UpstreamLocalityStats;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsRequest;
import io.envoyproxy.envoy.service.load_stats.v3.LoadStatsResponse;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class LoadReportsTest {
  private static final Duration INTERVAL = Duration.ofSeconds(2);
  private final MutableClock clock = new MutableClock(Instant.parse("2024-05-01T10:00:00Z"));
  private final LoadReports reports = new LoadReports(INTERVAL, clock, false,
      XdsLimits.defaults().withMaxLoadReportEdges(5).withLoadReportRetention(Duration.ofSeconds(10)));

  private StreamObserver<LoadStatsRequest> stream() {
    return reports.streamLoadStats(new StreamObserver<>() {
      @Override
      public void onNext(LoadStatsResponse value) {
      }

      @Override
      public void onError(Throwable t) {
      }

      @Override
      public void onCompleted() {
      }
    });
  }

  private static LoadStatsRequest report(String client, String... clusters) {
    LoadStatsRequest.Builder request = LoadStatsRequest.newBuilder().setNode(Node.newBuilder().setId(client));
    for (String cluster : clusters) {
      request.addClusterStats(ClusterStats.newBuilder().setClusterName(cluster)
          .addUpstreamLocalityStats(UpstreamLocalityStats.newBuilder().setTotalSuccessfulRequests(3)));
    }
    return request.build();
  }

  @Test
  void aClientThatKeepsReportingKeepsItsTotalsEvenWithoutTraffic() {
    StreamObserver<LoadStatsRequest> client = stream();
    client.onNext(report("web-1", "outbound|80||reviews.default.svc.cluster.local"));
    for (int i = 0; i < 10; i++) {
      clock.advance(INTERVAL);
      client.onNext(report("web-1"));
    }
    client.onNext(report("web-1", "outbound|80||reviews.default.svc.cluster.local"));

    assertThat(reports.edges()).singleElement().satisfies(edge -> {
      assertThat(edge.succeeded()).isEqualTo(6);
      assertThat(edge.service()).isEqualTo("reviews.default.svc.cluster.local");
    });
  }

  @Test
  void theEntriesOfAClientThatStoppedReportingAreDroppedAfterTheRetention() {
    stream().onNext(report("gone-1", "a", "b"));
    StreamObserver<LoadStatsRequest> staying = stream();
    staying.onNext(report("web-1", "a"));
    clock.advance(Duration.ofSeconds(8));
    staying.onNext(report("web-1"));
    assertThat(reports.edges()).hasSize(3);

    clock.advance(Duration.ofSeconds(4));

    assertThat(reports.edges()).extracting(LoadReports.Edge::client).containsExactly("web-1");
    assertThat(reports.edgeCount()).isEqualTo(1);
  }

  @Test
  void newEntriesBeyondTheLimitAreNotKeptWhileKnownOnesStillCount() {
    StreamObserver<LoadStatsRequest> flooder = stream();
    for (int i = 0; i < 1_000; i++) {
      flooder.onNext(report("client-" + i, "cluster-" + i, "other-" + i));
    }
    assertThat(reports.edgeCount()).isEqualTo(5);
    flooder.onNext(report("client-0", "cluster-0"));

    assertThat(reports.edges()).filteredOn(edge -> edge.client().equals("client-0") && edge.cluster().equals("cluster-0"))
        .singleElement().satisfies(edge -> assertThat(edge.succeeded()).isEqualTo(6));
    clock.advance(Duration.ofSeconds(11));
    assertThat(reports.edges()).isEmpty();
    stream().onNext(report("web-1", "a"));
    assertThat(reports.edges()).as("dropped entries free their places").hasSize(1);
  }
}
