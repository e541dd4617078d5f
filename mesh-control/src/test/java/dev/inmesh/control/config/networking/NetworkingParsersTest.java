package dev.inmesh.control.config.networking;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.ResourceKey;
import dev.inmesh.control.config.networking.DestinationRule.ConnectionPool;
import dev.inmesh.control.config.networking.DestinationRule.ConsistentHash;
import dev.inmesh.control.config.networking.DestinationRule.HashOn;
import dev.inmesh.control.config.networking.DestinationRule.OutlierDetection;
import dev.inmesh.control.config.networking.DestinationRule.Simple;
import dev.inmesh.control.config.networking.DestinationRule.TrafficPolicy;
import dev.inmesh.control.config.networking.ServiceEntry.Location;
import dev.inmesh.control.config.networking.ServiceEntry.Port;
import dev.inmesh.control.config.networking.ServiceEntry.Resolution;
import dev.inmesh.control.config.networking.VirtualService.Abort;
import dev.inmesh.control.config.networking.VirtualService.Delay;
import dev.inmesh.control.config.networking.VirtualService.HttpRoute;
import dev.inmesh.control.config.networking.VirtualService.Match;
import dev.inmesh.control.config.networking.VirtualService.Retry;
import dev.inmesh.control.config.networking.VirtualService.RouteDestination;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class NetworkingParsersTest {
  private static final String SOURCE = "mesh.yaml";

  private static ParseResult parse(String yaml) {
    return ConfigParser.defaults().parse(SOURCE, yaml);
  }

  private static String document(String kind, String name, String spec) {
    return """
        apiVersion: networking.istio.io/v1
        kind: %s
        metadata:
          name: %s
          namespace: shop
        spec:
        """.formatted(kind, name) + spec.indent(2);
  }

  private static String virtualService(String spec) {
    return document("VirtualService", "reviews", spec);
  }

  private static String destinationRule(String spec) {
    return document("DestinationRule", "reviews", spec);
  }

  private static String serviceEntry(String spec) {
    return document("ServiceEntry", "legacy", spec);
  }

  private static String workloadEntry(String spec) {
    return document("WorkloadEntry", "vm-1", spec);
  }

  private static <T> T only(ParseResult result, Class<T> type) {
    assertThat(result.errors()).isEmpty();
    assertThat(result.resources()).hasSize(1);
    return type.cast(result.resources().get(0).spec());
  }

  private static List<String> errorFields(ParseResult result) {
    return result.errors().stream().map(Problem::field).toList();
  }

  private static List<String> warningFields(ParseResult result) {
    return result.warnings().stream().map(Problem::field).toList();
  }

  @Test
  void theDeprecatedIntegerMirrorPercentOfIstiosMirroringTaskSetsTheMirroredShare() {
    ParseResult result = parse(virtualService("""
        hosts: [httpbin]
        http:
        - route:
          - destination: {host: httpbin, subset: v1}
            weight: 100
          mirror: {host: httpbin, subset: v2}
          mirrorPercent: 40
        """));

    VirtualService vs = only(result, VirtualService.class);
    assertThat(vs.http().get(0).mirrors()).singleElement().satisfies(m -> assertThat(m.percentage()).isEqualTo(40.0));
    assertThat(warningFields(result)).contains("spec.http[0].mirrorPercent");
  }

  /** The error at {@code field}; fails when there is none or the resource was still accepted. */
  private static Problem errorAt(ParseResult result, String field) {
    assertThat(result.resources()).isEmpty();
    return anyErrorAt(result, field);
  }

  /** The error at {@code field}, whatever else the text held. */
  private static Problem anyErrorAt(ParseResult result, String field) {
    assertThat(result.hasErrors()).isTrue();
    assertThat(errorFields(result)).contains(field);
    return result.errors().stream().filter(p -> p.field().equals(field)).findFirst().orElseThrow();
  }

  @Nested
  class VirtualServices {

    @Test
    void readsMatchesRetriesAndTheDefaultWeightOfASingleDestination() {
      VirtualService vs = only(parse(virtualService("""
          hosts:
          - reviews.shop.svc.cluster.local
          http:
          - name: jason
            match:
            - uri:
                prefix: /api/v2
              headers:
                end-user:
                  exact: jason
              queryParams:
                debug:
                  regex: "^(1|true)$"
              withoutHeaders:
                x-canary: {}
            route:
            - destination:
                host: reviews
                subset: v2
            timeout: 1.5s
            retries:
              attempts: 3
              perTryTimeout: 250ms
              retryOn: 5xx,connect-failure, unavailable
          """)), VirtualService.class);

      assertThat(vs.hosts()).containsExactly("reviews.shop.svc.cluster.local");
      assertThat(vs.appliesToMesh()).isTrue();
      HttpRoute route = vs.http().get(0);
      assertThat(route.name()).isEqualTo("jason");
      Match match = route.match().get(0);
      assertThat(match.uri()).contains(new StringMatch(StringMatch.Type.PREFIX, "/api/v2"));
      assertThat(match.headers()).containsExactly(Map.entry("end-user", StringMatch.exact("jason")));
      assertThat(match.queryParams()).containsExactly(Map.entry("debug", new StringMatch(StringMatch.Type.REGEX, "^(1|true)$")));
      assertThat(match.withoutHeaders()).containsOnlyKeys("x-canary");
      RouteDestination only = route.route().get(0);
      assertThat(only.destination().host()).isEqualTo("reviews");
      assertThat(only.destination().subset()).isEqualTo("v2");
      assertThat(only.weight()).isEqualTo(100);
      assertThat(route.timeout()).contains(Duration.ofMillis(1500));
      Retry retry = route.retries().orElseThrow();
      assertThat(retry.attempts()).isEqualTo(3);
      assertThat(retry.perTryTimeout()).contains(Duration.ofMillis(250));
      assertThat(retry.retryOn()).containsExactly("5xx", "connect-failure", "unavailable");
    }

    @Test
    void readsWeightsPortsAndCompoundDurations() {
      VirtualService vs = only(parse(virtualService("""
          hosts: [reviews]
          http:
          - route:
            - destination:
                host: reviews
                subset: v1
                port:
                  number: 9080
              weight: 75
            - destination:
                host: reviews
                subset: v3
              weight: 25
            timeout: 1m30s
          """)), VirtualService.class);

      HttpRoute route = vs.http().get(0);
      assertThat(route.route()).extracting(RouteDestination::weight).containsExactly(75, 25);
      assertThat(route.route()).extracting(d -> d.destination().subset()).containsExactly("v1", "v3");
      assertThat(route.route().get(0).destination().port()).contains(9080);
      assertThat(route.route().get(1).destination().port()).isEmpty();
      assertThat(route.timeout()).contains(Duration.ofSeconds(90));
    }

    @Test
    void readsFaultPercentagesIncludingTheDeprecatedIntegerPercent() {
      ParseResult result = parse(virtualService("""
          hosts: [ratings]
          http:
          - fault:
              delay:
                percentage:
                  value: 12.5
                fixedDelay: 2s
              abort:
                percent: 40
                httpStatus: 503
            route:
            - destination: {host: ratings}
          - fault:
              abort:
                grpcStatus: UNAVAILABLE
            route:
            - destination: {host: ratings}
          """));

      VirtualService vs = only(result, VirtualService.class);
      Delay delay = vs.http().get(0).fault().orElseThrow().delay().orElseThrow();
      assertThat(delay.fixedDelay()).isEqualTo(Duration.ofSeconds(2));
      assertThat(delay.percentage()).isEqualTo(12.5);
      Abort abort = vs.http().get(0).fault().orElseThrow().abort().orElseThrow();
      assertThat(abort.httpStatus()).contains(503);
      assertThat(abort.percentage()).isEqualTo(40.0);
      Abort grpcAbort = vs.http().get(1).fault().orElseThrow().abort().orElseThrow();
      assertThat(grpcAbort.grpcStatus()).contains("UNAVAILABLE");
      assertThat(grpcAbort.httpStatus()).isEmpty();
      assertThat(grpcAbort.percentage()).as("no percentage means every request").isEqualTo(100.0);
      assertThat(warningFields(result)).containsExactly("spec.http[0].fault.abort.percent");
      assertThat(result.warnings().get(0).message()).contains("deprecated");
    }

    @Test
    void rejectsAWeightAbove100AtTheExactDestination() {
      Problem problem = errorAt(parse(virtualService("""
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews, subset: v1}
              weight: 70
            - destination: {host: reviews, subset: v2}
              weight: 150
          """)), "spec.http[0].route[1].weight");

      assertThat(problem.message()).contains("at most 100").contains("150");
    }

    @Test
    void rejectsMirrorAndMirrorsOnOneRoute() {
      Problem problem = errorAt(parse(virtualService("""
          hosts: [reviews]
          http:
          - route:
            - destination:
                host: reviews
            mirror:
              host: reviews
              subset: v2
            mirrors:
            - destination:
                host: reviews
                subset: v3
          """)), "spec.http[0].mirrors");

      assertThat(problem.message()).contains("only one of mirror and mirrors");
    }

    @Test
    void rejectsANegativeWeight() {
      Problem problem = errorAt(parse(virtualService("""
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews, subset: v1}
              weight: -5
            - destination: {host: reviews, subset: v2}
              weight: 100
          """)), "spec.http[0].route[0].weight");

      assertThat(problem.message()).contains("negative").contains("-5");
    }

    @Test
    void rejectsAnUppercaseHeaderNameAndNamesTheHeader() {
      Problem problem = errorAt(parse(virtualService("""
          hosts: [reviews]
          http:
          - match:
            - headers:
                End-User:
                  exact: jason
            route:
            - destination: {host: reviews}
          """)), "spec.http[0].match[0].headers.End-User");

      assertThat(problem.message()).contains("lowercase").contains("End-User");
    }

    @Test
    void rejectsAStringMatchWithTwoKinds() {
      Problem problem = errorAt(parse(virtualService("""
          hosts: [reviews]
          http:
          - match:
            - uri:
                exact: /a
                prefix: /b
            route:
            - destination: {host: reviews}
          """)), "spec.http[0].match[0].uri");

      assertThat(problem.message()).contains("only one of exact, prefix or regex");
    }

    @Test
    void rejectsARegexThatIsNotRe2() {
      Problem problem = errorAt(parse(virtualService("""
          hosts: [reviews]
          http:
          - match:
            - uri:
                regex: "/api/(v1"
            route:
            - destination: {host: reviews}
          """)), "spec.http[0].match[0].uri.regex");

      assertThat(problem.message()).contains("/api/(v1");
    }

    @Test
    void rejectsADurationItCannotRead() {
      Problem problem = errorAt(parse(virtualService("""
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews}
            timeout: ten seconds
          """)), "spec.http[0].timeout");

      assertThat(problem.message()).contains("duration").contains("ten seconds");
    }

    @Test
    void rejectsAnUnknownRetryPolicyAndNamesIt() {
      Problem problem = errorAt(parse(virtualService("""
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews}
            retries:
              attempts: 2
              retryOn: 5xx,sometimes
          """)), "spec.http[0].retries.retryOn");

      assertThat(problem.message()).contains("'sometimes'");
    }

    @Test
    void rejectsAVirtualServiceWithoutHosts() {
      Problem problem = errorAt(parse(virtualService("""
          tcp: []
          """)), "spec.hosts");

      assertThat(problem.message()).contains("Required");
    }

    @Test
    void rejectsAnUnknownFieldDeepInsideARoute() {
      Problem problem = errorAt(parse(virtualService("""
          hosts: [reviews]
          http:
          - route:
            - destination:
                host: reviews
                subsett: v1
          """)), "spec.http[0].route[0].destination.subsett");

      assertThat(problem.message()).contains("unknown field").contains("subsett");
    }

    @Test
    void warnsAboutAnIstioFieldItDoesNotEnforceAndStillAcceptsTheResource() {
      ParseResult result = parse(virtualService("""
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews}
            corsPolicy:
              allowOrigins:
              - exact: https://shop.example.com
          """));

      assertThat(result.errors()).isEmpty();
      assertThat(result.resources()).hasSize(1);
      assertThat(warningFields(result)).containsExactly("spec.http[0].corsPolicy");
      Problem warning = result.warnings().get(0);
      assertThat(warning.severity()).isEqualTo(Problem.Severity.WARNING);
      assertThat(warning.message()).contains("not enforced");
    }
  }

  @Nested
  class DestinationRules {

    @Test
    void warnsForEachConnectionPoolFieldThatProxylessGrpcIgnoresAndKeepsTheRetryBudget() {
      ParseResult result = parse(destinationRule("""
          host: httpbin
          trafficPolicy:
            connectionPool:
              tcp:
                maxConnections: 1
                connectTimeout: 1s
              http:
                http1MaxPendingRequests: 1
                http2MaxRequests: 10
                maxRequestsPerConnection: 1
                maxRetries: 2
                idleTimeout: 5s
            retryBudget:
              percent: 30
              minRetryConcurrency: 1
          """));

      // http2MaxRequests is max_requests, which grpc-java honours (gRFC A32): no warning
      assertThat(warningFields(result)).containsExactlyInAnyOrder(
          "spec.trafficPolicy.connectionPool.tcp.maxConnections",
          "spec.trafficPolicy.connectionPool.tcp.connectTimeout",
          "spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests",
          "spec.trafficPolicy.connectionPool.http.maxRequestsPerConnection",
          "spec.trafficPolicy.connectionPool.http.maxRetries",
          "spec.trafficPolicy.connectionPool.http.idleTimeout",
          "spec.trafficPolicy.retryBudget");
      assertThat(result.warnings()).allSatisfy(w -> assertThat(w.message()).contains("proxyless gRPC clients (grpc-java) ignore it"));
      DestinationRule rule = only(result, DestinationRule.class);
      assertThat(rule.trafficPolicy().orElseThrow().retryBudget())
          .contains(new DestinationRule.RetryBudget(Optional.of(30.0), Optional.of(1)));
    }

    @Test
    void aRetryBudgetIntervalIsRefusedUnlessItIsIstiosZero() {
      assertThat(errorAt(parse(destinationRule("""
          host: httpbin
          trafficPolicy:
            retryBudget: {percent: 20, budgetInterval: 10s}
          """)), "spec.trafficPolicy.retryBudget.budgetInterval").message()).contains("requests in flight");
      assertThat(errorFields(parse(destinationRule("""
          host: httpbin
          trafficPolicy:
            retryBudget: {percent: 20, budgetInterval: 0s}
          """)))).isEmpty();
    }

    @Test
    void readsLoadBalancerConnectionPoolOutlierDetectionAndSubsets() {
      DestinationRule rule = only(parse(destinationRule("""
          host: reviews.shop.svc.cluster.local
          trafficPolicy:
            loadBalancer:
              simple: LEAST_REQUEST
            connectionPool:
              tcp:
                maxConnections: 100
                connectTimeout: 250ms
              http:
                http1MaxPendingRequests: 10
                http2MaxRequests: 1000
                maxRequestsPerConnection: 1
                maxRetries: 3
                idleTimeout: 1m30s
            outlierDetection:
              consecutive5xxErrors: 7
              consecutiveGatewayErrors: 3
              interval: 5m
              baseEjectionTime: 15m
              maxEjectionPercent: 50
              minHealthPercent: 20
          subsets:
          - name: v1
            labels:
              version: v1
          - name: v2
            labels:
              version: v2
            trafficPolicy:
              loadBalancer:
                simple: ROUND_ROBIN
          """)), DestinationRule.class);

      assertThat(rule.host()).isEqualTo("reviews.shop.svc.cluster.local");
      TrafficPolicy policy = rule.trafficPolicy().orElseThrow();
      assertThat(policy.loadBalancer().orElseThrow().simple()).contains(Simple.LEAST_REQUEST);
      ConnectionPool pool = policy.connectionPool().orElseThrow();
      assertThat(pool.maxConnections()).contains(100);
      assertThat(pool.connectTimeout()).contains(Duration.ofMillis(250));
      assertThat(pool.http1MaxPendingRequests()).contains(10);
      assertThat(pool.http2MaxRequests()).contains(1000);
      assertThat(pool.maxRequestsPerConnection()).contains(1);
      assertThat(pool.maxRetries()).contains(3);
      assertThat(pool.idleTimeout()).contains(Duration.ofSeconds(90));
      OutlierDetection outlier = policy.outlierDetection().orElseThrow();
      assertThat(outlier.consecutive5xxErrors()).contains(7);
      assertThat(outlier.consecutiveGatewayErrors()).contains(3);
      assertThat(outlier.interval()).contains(Duration.ofMinutes(5));
      assertThat(outlier.baseEjectionTime()).contains(Duration.ofMinutes(15));
      assertThat(outlier.maxEjectionPercent()).contains(50);
      assertThat(outlier.minHealthPercent()).contains(20);
      assertThat(rule.subsets()).extracting(DestinationRule.Subset::name).containsExactly("v1", "v2");
      assertThat(rule.subset("v1").orElseThrow().labels()).containsExactly(Map.entry("version", "v1"));
      assertThat(rule.subset("v1").orElseThrow().trafficPolicy()).isEmpty();
      assertThat(rule.subset("v2").orElseThrow().trafficPolicy().orElseThrow().loadBalancer().orElseThrow().simple())
          .contains(Simple.ROUND_ROBIN);
    }

    @Test
    void aSubsetPolicyReplacesOnlyThePartsItSets() {
      DestinationRule rule = only(parse(destinationRule("""
          host: reviews
          trafficPolicy:
            loadBalancer: {simple: LEAST_REQUEST}
            outlierDetection: {consecutive5xxErrors: 5}
          subsets:
          - name: v2
            labels: {version: v2}
            trafficPolicy:
              loadBalancer: {simple: RANDOM}
          """)), DestinationRule.class);

      TrafficPolicy top = rule.trafficPolicy().orElseThrow();
      TrafficPolicy v2 = top.overriddenBy(rule.subset("v2").orElseThrow().trafficPolicy().orElseThrow());

      assertThat(v2.loadBalancer().orElseThrow().simple()).contains(Simple.RANDOM);
      assertThat(v2.outlierDetection()).isEqualTo(top.outlierDetection());
      assertThat(v2.outlierDetection().orElseThrow().consecutive5xxErrors()).contains(5);
    }

    @Test
    void readsEveryConsistentHashKey() {
      DestinationRule rule = only(parse(destinationRule("""
          host: reviews
          subsets:
          - name: by-header
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  httpHeaderName: X-User
          - name: by-cookie
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  httpCookie:
                    name: session
                    path: /
                    ttl: 1.5s
                  ringHash:
                    minimumRingSize: 2048
          - name: by-source
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  useSourceIp: true
          - name: by-query
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  httpQueryParameterName: user
                  minimumRingSize: 4096
          """)), DestinationRule.class);

      assertThat(hashOf(rule, "by-header"))
          .isEqualTo(new ConsistentHash(HashOn.HEADER, "x-user", Optional.empty(), 1024));
      assertThat(hashOf(rule, "by-cookie"))
          .isEqualTo(new ConsistentHash(HashOn.COOKIE, "session", Optional.of(Duration.ofMillis(1500)), 2048));
      assertThat(hashOf(rule, "by-source"))
          .isEqualTo(new ConsistentHash(HashOn.SOURCE_IP, "", Optional.empty(), 1024));
      assertThat(hashOf(rule, "by-query"))
          .isEqualTo(new ConsistentHash(HashOn.QUERY_PARAMETER, "user", Optional.empty(), 4096));
    }

    private ConsistentHash hashOf(DestinationRule rule, String subset) {
      return rule.subset(subset).orElseThrow().trafficPolicy().orElseThrow()
          .loadBalancer().orElseThrow().consistentHash().orElseThrow();
    }

    @Test
    void portLevelSettingsOverrideThePartsTheySetForTheirPortOnly() {
      DestinationRule rule = only(parse(destinationRule("""
          host: reviews
          trafficPolicy:
            loadBalancer: {simple: ROUND_ROBIN}
            connectionPool:
              tcp: {maxConnections: 100}
            portLevelSettings:
            - port: {number: 9080}
              loadBalancer: {simple: LEAST_REQUEST}
            - port: {number: 9443}
              connectionPool:
                tcp: {maxConnections: 5}
          """)), DestinationRule.class);

      TrafficPolicy policy = rule.trafficPolicy().orElseThrow();
      assertThat(policy.portLevelSettings()).extracting(DestinationRule.PortPolicy::port).containsExactly(9080, 9443);
      assertThat(policy.forPort(9080).loadBalancer().orElseThrow().simple()).contains(Simple.LEAST_REQUEST);
      assertThat(policy.forPort(9443).connectionPool().orElseThrow().maxConnections()).contains(5);
      assertThat(policy.forPort(9080).portLevelSettings()).isEmpty();
      TrafficPolicy other = policy.forPort(8080);
      assertThat(other.loadBalancer().orElseThrow().simple()).contains(Simple.ROUND_ROBIN);
      assertThat(other.connectionPool().orElseThrow().maxConnections()).contains(100);
    }

    @Test
    void portLevelSettingsDoNotInheritDestinationLevelPartsAsIstioDocuments() {
      DestinationRule rule = only(parse(destinationRule("""
          host: reviews
          trafficPolicy:
            loadBalancer: {simple: ROUND_ROBIN}
            connectionPool:
              tcp: {maxConnections: 100}
            portLevelSettings:
            - port: {number: 9080}
              loadBalancer: {simple: LEAST_REQUEST}
          """)), DestinationRule.class);

      // Istio: "Traffic settings specified at the destination-level will not be inherited when
      // overridden by port-level settings, i.e. default values will be applied to fields omitted".
      assertThat(rule.trafficPolicy().orElseThrow().forPort(9080).connectionPool()).isEmpty();
    }

    @Test
    void rejectsAnUnsupportedSimpleLoadBalancer() {
      Problem problem = errorAt(parse(destinationRule("""
          host: reviews
          trafficPolicy:
            loadBalancer:
              simple: FASTEST
          """)), "spec.trafficPolicy.loadBalancer.simple");

      assertThat(problem.message()).contains("\"FASTEST\"").contains("ROUND_ROBIN");
    }

    @Test
    void rejectsADuplicateSubsetNameAtTheSecondSubset() {
      Problem problem = errorAt(parse(destinationRule("""
          host: reviews
          subsets:
          - name: v1
            labels: {version: v1}
          - name: v1
            labels: {version: v2}
          """)), "spec.subsets[1].name");

      assertThat(problem.message()).contains("duplicate").contains("v1");
    }

    @Test
    void rejectsTwoConsistentHashKeys() {
      Problem problem = errorAt(parse(destinationRule("""
          host: reviews
          trafficPolicy:
            loadBalancer:
              consistentHash:
                httpHeaderName: x-user
                useSourceIp: true
          """)), "spec.trafficPolicy.loadBalancer.consistentHash");

      assertThat(problem.message()).contains("only one of");
    }

    @Test
    void rejectsSimpleTogetherWithConsistentHash() {
      Problem problem = errorAt(parse(destinationRule("""
          host: reviews
          trafficPolicy:
            loadBalancer:
              simple: RANDOM
              consistentHash:
                httpHeaderName: x-user
          """)), "spec.trafficPolicy.loadBalancer");

      assertThat(problem.message()).contains("only one of simple or consistentHash");
    }

    @Test
    void rejectsAnEjectionPercentAbove100() {
      Problem problem = errorAt(parse(destinationRule("""
          host: reviews
          trafficPolicy:
            outlierDetection:
              maxEjectionPercent: 150
          """)), "spec.trafficPolicy.outlierDetection.maxEjectionPercent");

      assertThat(problem.message()).contains("150");
    }

    @Test
    void rejectsTwoPortLevelSettingsForOnePort() {
      Problem problem = errorAt(parse(destinationRule("""
          host: reviews
          trafficPolicy:
            portLevelSettings:
            - port: {number: 9080}
              loadBalancer: {simple: RANDOM}
            - port: {number: 9080}
              loadBalancer: {simple: LEAST_REQUEST}
          """)), "spec.trafficPolicy.portLevelSettings[1].port.number");

      assertThat(problem.message()).contains("9080");
    }

    @Test
    void rejectsAnUnknownFieldInsideASubsetPolicy() {
      Problem problem = errorAt(parse(destinationRule("""
          host: reviews
          subsets:
          - name: v1
            trafficPolicy:
              connectionPool:
                http:
                  maxRetriez: 3
          """)), "spec.subsets[0].trafficPolicy.connectionPool.http.maxRetriez");

      assertThat(problem.message()).contains("unknown field");
    }

    @Test
    void readsIstioMutualAndWarnsThatProxylessGrpcCannotOriginateTlsWithFiles() {
      ParseResult mesh = parse(destinationRule("""
          host: reviews
          trafficPolicy:
            tls:
              mode: ISTIO_MUTUAL
              subjectAltNames: ["spiffe://cluster.local/ns/default/sa/reviews"]
          """));
      ParseResult simple = parse(destinationRule("""
          host: reviews
          trafficPolicy:
            tls:
              mode: SIMPLE
          """));

      assertThat(mesh.errors()).isEmpty();
      assertThat(mesh.warnings()).isEmpty();
      DestinationRule.ClientTls tls = only(mesh, DestinationRule.class).trafficPolicy().orElseThrow().tls().orElseThrow();
      assertThat(tls.mode()).isEqualTo(DestinationRule.TlsMode.ISTIO_MUTUAL);
      assertThat(tls.subjectAltNames()).containsExactly("spiffe://cluster.local/ns/default/sa/reviews");
      assertThat(warningFields(simple)).containsExactly("spec.trafficPolicy.tls.mode");
      assertThat(simple.warnings().get(0).message()).contains("proxyless gRPC clients cannot originate TLS from files");
      assertThat(only(simple, DestinationRule.class).trafficPolicy().orElseThrow().tls().orElseThrow().originates()).isTrue();
    }

    @Test
    void refusesFilesWithIstioMutualAsIstioDoes() {
      ParseResult result = parse(destinationRule("""
          host: reviews
          trafficPolicy:
            tls:
              mode: ISTIO_MUTUAL
              clientCertificate: /etc/certs/cert.pem
          """));

      assertThat(result.errors()).extracting(p -> p.field()).containsExactly("spec.trafficPolicy.tls.clientCertificate");
      assertThat(result.errors().get(0).message()).contains("cannot specify client certificates when using ISTIO_MUTUAL");
    }

    @Test
    void readsTheDeprecatedConsecutiveErrorsWithAWarning() {
      ParseResult result = parse(destinationRule("""
          host: reviews
          trafficPolicy:
            outlierDetection:
              consecutiveErrors: 4
          """));

      DestinationRule rule = only(result, DestinationRule.class);
      assertThat(rule.trafficPolicy().orElseThrow().outlierDetection().orElseThrow().consecutive5xxErrors()).contains(4);
      assertThat(warningFields(result)).containsExactly("spec.trafficPolicy.outlierDetection.consecutiveErrors");
    }
  }

  @Nested
  class ServiceEntries {

    @Test
    void readsPortsLocationResolutionAndEndpoints() {
      ServiceEntry entry = only(parse(serviceEntry("""
          hosts:
          - ratings.legacy.internal
          location: MESH_INTERNAL
          ports:
          - number: 9080
            name: http
            protocol: HTTP
            targetPort: 8080
          resolution: STATIC
          endpoints:
          - address: 10.0.0.7
            ports:
              http: 18080
            labels:
              version: v1
            locality: us-east1/us-east1-b
            weight: 3
          - address: 10.0.0.8
          """)), ServiceEntry.class);

      assertThat(entry.hosts()).containsExactly("ratings.legacy.internal");
      assertThat(entry.location()).isEqualTo(Location.MESH_INTERNAL);
      assertThat(entry.resolution()).isEqualTo(Resolution.STATIC);
      assertThat(entry.ports()).containsExactly(new Port(9080, "HTTP", "http", 8080));
      assertThat(entry.endpoints()).extracting(WorkloadEntry::address).containsExactly("10.0.0.7", "10.0.0.8");
      WorkloadEntry first = entry.endpoints().get(0);
      assertThat(first.ports()).containsExactly(Map.entry("http", 18080));
      assertThat(first.labels()).containsExactly(Map.entry("version", "v1"));
      assertThat(first.locality()).isEqualTo("us-east1/us-east1-b");
      assertThat(first.weight()).isEqualTo(3);
      assertThat(entry.workloadSelector()).isEmpty();
    }

    @Test
    void defaultsToAnExternalServiceWithResolutionNoneAndWarnsAboutIt() {
      ParseResult result = parse(serviceEntry("""
          hosts: [api.example.com]
          ports:
          - {number: 443, name: https, protocol: TLS}
          """));

      ServiceEntry entry = only(result, ServiceEntry.class);
      assertThat(entry.location()).isEqualTo(Location.MESH_EXTERNAL);
      assertThat(entry.resolution()).isEqualTo(Resolution.NONE);
      assertThat(warningFields(result)).containsExactly("spec.resolution");
    }

    @Test
    void rejectsEndpointsWithResolutionNone() {
      Problem problem = errorAt(parse(serviceEntry("""
          hosts: [api.example.com]
          ports:
          - {number: 443, name: https}
          resolution: NONE
          endpoints:
          - address: 10.0.0.7
          """)), "spec.endpoints");

      assertThat(problem.message()).contains("NONE");
    }

    @Test
    void rejectsADuplicatePortNumber() {
      Problem problem = errorAt(parse(serviceEntry("""
          hosts: [api.example.com]
          ports:
          - {number: 443, name: https}
          - {number: 443, name: tls}
          resolution: DNS
          """)), "spec.ports[1].number");

      assertThat(problem.message()).contains("443");
    }

    @Test
    void rejectsCidrAddressesWithDnsResolution() {
      Problem problem = errorAt(parse(serviceEntry("""
          hosts: [api.example.com]
          addresses: [10.1.0.0/16]
          ports:
          - {number: 443, name: https}
          resolution: DNS
          """)), "spec.addresses");

      assertThat(problem.message()).contains("CIDR");
    }

    @Test
    void rejectsAWorkloadSelectorTogetherWithEndpoints() {
      Problem problem = errorAt(parse(serviceEntry("""
          hosts: [ratings.legacy.internal]
          ports:
          - {number: 9080, name: http}
          resolution: STATIC
          workloadSelector:
            labels: {app: ratings}
          endpoints:
          - address: 10.0.0.7
          """)), "spec.workloadSelector");

      assertThat(problem.message()).contains("only one of");
    }

    @Test
    void rejectsAnUnknownFieldInsideAPort() {
      Problem problem = errorAt(parse(serviceEntry("""
          hosts: [api.example.com]
          ports:
          - {number: 443, name: https, protocl: TLS}
          resolution: DNS
          """)), "spec.ports[0].protocl");

      assertThat(problem.message()).contains("unknown field");
    }
  }

  @Nested
  class WorkloadEntries {

    @Test
    void readsAddressPortsLabelsLocalityWeightAndServiceAccount() {
      WorkloadEntry entry = only(parse(workloadEntry("""
          address: 192.168.1.20
          ports:
            grpc: 9090
          labels:
            app: ratings
            version: v2
          locality: europe-west1/europe-west1-c/rack7
          weight: 10
          serviceAccount: ratings-vm
          """)), WorkloadEntry.class);

      assertThat(entry.address()).isEqualTo("192.168.1.20");
      assertThat(entry.ports()).containsExactly(Map.entry("grpc", 9090));
      assertThat(entry.labels()).containsOnly(Map.entry("app", "ratings"), Map.entry("version", "v2"));
      assertThat(entry.locality()).isEqualTo("europe-west1/europe-west1-c/rack7");
      assertThat(entry.weight()).isEqualTo(10);
      assertThat(entry.serviceAccount()).isEqualTo("ratings-vm");
    }

    @Test
    void rejectsAWorkloadEntryWithoutAnAddress() {
      Problem problem = errorAt(parse(workloadEntry("""
          labels: {app: ratings}
          """)), "spec.address");

      assertThat(problem.message()).contains("required");
    }

    @Test
    void rejectsAPortOutOfRangeAndNamesThePort() {
      Problem problem = errorAt(parse(workloadEntry("""
          address: 192.168.1.20
          ports:
            grpc: 70000
          """)), "spec.ports.grpc");

      assertThat(problem.message()).contains("70000");
    }

    @Test
    void rejectsALocalityWithMoreThanThreeParts() {
      Problem problem = errorAt(parse(workloadEntry("""
          address: 192.168.1.20
          locality: a/b/c/d
          """)), "spec.locality");

      assertThat(problem.message()).contains("a/b/c/d");
    }

    @Test
    void rejectsAWildcardLabelValue() {
      Problem problem = errorAt(parse(workloadEntry("""
          address: 192.168.1.20
          labels:
            version: "v*"
          """)), "spec.labels.version");

      assertThat(problem.message()).contains("wildcard");
    }
  }

  @Nested
  class Documents {
    private static final String RATINGS_RULE = """
        apiVersion: networking.istio.io/v1beta1
        kind: DestinationRule
        metadata:
          name: ratings
        spec:
          host: ratings
        """;

    @Test
    void readsEveryDocumentOfAMultiDocumentTextWithATrailingSeparator() {
      ParseResult result = parse(virtualService("hosts: [reviews]\nhttp:\n- route:\n  - destination: {host: reviews}\n")
          + "---\n" + RATINGS_RULE + "---\n");

      assertThat(result.problems()).isEmpty();
      assertThat(result.resources()).extracting(ConfigResource::key).containsExactly(
          new ResourceKey("VirtualService", "shop", "reviews"),
          new ResourceKey("DestinationRule", "default", "ratings"));
      assertThat(result.resources()).extracting(ConfigResource::source).containsOnly(SOURCE);
      assertThat(result.resources().get(1).apiVersion()).isEqualTo("networking.istio.io/v1beta1");
    }

    @Test
    void namesTheDocumentAProblemIsIn() {
      ParseResult result = parse(RATINGS_RULE + "---\n" + destinationRule("host: \"bad host\"\n"));

      Problem problem = anyErrorAt(result, "spec.host");
      assertThat(problem.source()).isEqualTo(SOURCE + " (document 2)");
      assertThat(problem.resource()).isEqualTo("DestinationRule/shop/reviews");
    }

    @Test
    void namesTheLineOfMalformedYaml() {
      ParseResult result = parse("""
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata:
            name: reviews
           namespace: shop
          spec:
            hosts: [reviews]
          """);

      assertThat(result.resources()).isEmpty();
      assertThat(result.errors()).hasSize(1);
      Problem problem = result.errors().get(0);
      assertThat(problem.field()).startsWith("line 5,");
      assertThat(problem.message()).startsWith("malformed YAML");
    }

    @Test
    void namesTheLineOfATabUsedForIndentation() {
      ParseResult result = parse("""
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata:
            name: reviews
          spec:
          \thosts: [reviews]
          """);

      assertThat(result.errors()).hasSize(1);
      assertThat(result.errors().get(0).field()).startsWith("line 6,");
    }

    @Test
    void rejectsADuplicateKeyInOneMapping() {
      ParseResult result = parse(virtualService("""
          hosts: [reviews]
          hosts: [ratings]
          http:
          - route:
            - destination: {host: reviews}
          """));

      assertThat(result.resources()).isEmpty();
      assertThat(result.errors()).hasSize(1);
      Problem problem = result.errors().get(0);
      assertThat(problem.field()).as("the second hosts key").startsWith("line 8,");
      assertThat(problem.message()).contains("Duplicate").contains("hosts");
    }

    @Test
    void rejectsADocumentWithoutSpec() {
      Problem problem = errorAt(parse("""
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata:
            name: reviews
          """), "spec");

      assertThat(problem.message()).contains("Required");
    }

    @Test
    void rejectsAnApiVersionTheKindIsNotServedAt() {
      Problem problem = errorAt(parse(RATINGS_RULE.replace("networking.istio.io/v1beta1", "security.istio.io/v1")),
          "apiVersion");

      assertThat(problem.message()).contains("security.istio.io/v1").contains("networking.istio.io/v1");
    }

    @Test
    void ignoresAKubernetesDeploymentWithAWarning() {
      ParseResult result = parse("""
          apiVersion: apps/v1
          kind: Deployment
          metadata:
            name: reviews-v1
            labels: {app: reviews}
          spec:
            replicas: 1
            template:
              spec:
                containers:
                - name: reviews
                  image: example/reviews:1.0
          ---
          """ + RATINGS_RULE);

      assertThat(result.errors()).isEmpty();
      assertThat(result.resources()).extracting(ConfigResource::kind).containsExactly("DestinationRule");
      assertThat(warningFields(result)).containsExactly("kind");
      assertThat(result.warnings().get(0).message()).contains("Deployment").contains("ignored");
    }

    @Test
    void rejectsTheSameResourceTwiceInOneText() {
      ParseResult result = parse(RATINGS_RULE + "---\n" + RATINGS_RULE);

      Problem problem = anyErrorAt(result, "metadata.name");
      assertThat(problem.source()).isEqualTo(SOURCE + " (document 2)");
      assertThat(problem.resource()).isEqualTo("DestinationRule/default/ratings");
      assertThat(problem.message()).contains("more than once");
    }

    @Test
    void rejectsUnknownFieldsAtTheTopAndInMetadata() {
      ParseResult result = parse("""
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata:
            name: ratings
            labelz: {app: ratings}
          spec:
            host: ratings
          extra: true
          """);

      assertThat(result.resources()).isEmpty();
      assertThat(errorFields(result)).containsExactlyInAnyOrder("metadata.labelz", "extra");
    }

    @Test
    void formatsAProblemAsSourceResourceFieldAndMessage() {
      ParseResult result = parse(virtualService("""
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews}
              weight: 150
          """));

      Problem problem = errorAt(result, "spec.http[0].route[0].weight");
      assertThat(problem.toString())
          .isEqualTo("mesh.yaml: VirtualService/shop/reviews: spec.http[0].route[0].weight: " + problem.message());
      assertThat(new Problem(Problem.Severity.WARNING, "a.yaml", "", "spec.tls", "not enforced").toString())
          .isEqualTo("warning: a.yaml: spec.tls: not enforced");
    }
  }
}
