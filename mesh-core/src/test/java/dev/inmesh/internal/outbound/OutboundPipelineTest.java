package dev.inmesh.internal.outbound;

import static dev.inmesh.internal.outbound.Scene.V1;
import static dev.inmesh.internal.outbound.Scene.V2;
import static dev.inmesh.internal.outbound.Scene.forward;
import static dev.inmesh.internal.outbound.Scene.get;
import static dev.inmesh.internal.outbound.Scene.post;
import static dev.inmesh.internal.outbound.Scene.retries;
import static dev.inmesh.internal.outbound.Scene.retrying;
import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.model.UpstreamTls;
import dev.inmesh.internal.resilience.Admission;
import dev.inmesh.internal.resilience.ConnectionLimits;
import dev.inmesh.internal.resilience.FaultConfig;
import dev.inmesh.internal.resilience.OutlierDetectionConfig;
import dev.inmesh.internal.routing.RouteAction;
import dev.inmesh.internal.routing.RouteAction.HeaderMutations;
import dev.inmesh.internal.routing.VirtualHost;
import dev.inmesh.spi.Attempt;
import dev.inmesh.spi.CallOptions;
import dev.inmesh.spi.RequestView;
import dev.inmesh.spi.UpstreamOverflowException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The outbound pipeline driven through a fake transport: no network, a manual clock, seeded randomness. */
class OutboundPipelineTest {
  private static final Endpoint A = Endpoint.of("10.0.0.1", 9080);
  private static final Endpoint B = Endpoint.of("10.0.0.2", 9080);
  private static final Endpoint C = Endpoint.of("10.0.0.3", 9080);
  private static final CallOptions EXPLAIN = new CallOptions(Optional.empty(), Optional.empty(), true);

  private final Scene scene = new Scene();
  private OutboundPipeline pipeline;

  @AfterEach
  void close() {
    if (pipeline != null) {
      pipeline.close();
    }
  }

  private FakeTransport.Response call(Scene.Request request, FakeTransport transport) throws IOException {
    return call(request, transport, EXPLAIN);
  }

  private FakeTransport.Response call(RequestView request, FakeTransport transport, CallOptions options)
      throws IOException {
    if (pipeline == null) {
      pipeline = scene.pipeline();
    }
    return pipeline.execute(request, transport, options);
  }

  // route

  @Test
  void sendsAMatchedRequestToTheRoutesClusterWithTheCallersAuthority() throws IOException {
    scene.route("reviews", "/", forward(V1)).cluster(V1, A);
    FakeTransport transport = FakeTransport.answering(attempt -> 200);

    FakeTransport.Response response = call(get("/reviews/1"), transport);

    assertThat(response.status()).isEqualTo(200);
    assertThat(response.synthesized()).isFalse();
    assertThat(transport.attempts).singleElement().satisfies(attempt -> {
      assertThat(attempt.cluster()).isEqualTo(V1);
      assertThat(attempt.endpoint()).isEqualTo(A);
      assertThat(attempt.path()).isEqualTo("/reviews/1");
      assertThat(attempt.authority()).isEqualTo("reviews:9080");
      assertThat(attempt.number()).isEqualTo(1);
    });
    assertThat(response.explanation())
        .isEqualTo("listener=reviews:9080; route=reviews; cluster=" + V1 + "; subset=v1; attempts=10.0.0.1:9080=200;"
            + " fault=none; result=200");
  }

  @Test
  void passesAHostTheMeshDoesNotKnowThroughUntouched() throws IOException {
    scene.route("reviews", "/", forward(V1)).cluster(V1, A);
    FakeTransport transport = FakeTransport.answering(attempt -> 200);

    FakeTransport.Response response = call(new Scene.Request("GET", "example.com", 443, "/", Map.of()), transport);

    assertThat(response).isSameAs(FakeTransport.PASSED_THROUGH);
    assertThat(transport.attempts).isEmpty();
  }

  @Test
  void answers404WithNrWhenNoRouteMatches() throws IOException {
    scene.route("api", "/api/", forward(V1)).cluster(V1, A);
    FakeTransport transport = FakeTransport.answering(attempt -> 200);

    FakeTransport.Response response = call(get("/other"), transport);

    assertThat(response.status()).isEqualTo(404);
    assertThat(response.body()).isEqualTo("no route matched");
    assertThat(response.flag()).isEqualTo("NR");
    assertThat(response.explanation()).endsWith("result=404 NR");
    assertThat(transport.attempts).isEmpty();
  }

  @Test
  void answers503WithNrWhileTheRouteConfigurationHasNotArrived() throws IOException {
    scene.route("reviews", "/", forward(V1)).cluster(V1, A).withoutRouteConfiguration();

    FakeTransport.Response response = call(get("/"), FakeTransport.answering(attempt -> 200));

    assertThat(response.status()).isEqualTo(503);
    assertThat(response.flag()).isEqualTo("NR");
    assertThat(response.body()).isEqualTo("route configuration reviews-routes has not arrived");
  }

  @Test
  void routesAGatewayCallByItsServersRouteConfigurationChoosingTheVirtualHostByTheRequestsHost() throws IOException {
    scene.gatewayRoutes("http.8080",
        gatewayHost("shop.example.com", VirtualHost.TlsRequirement.NONE, V1),
        gatewayHost("*.example.com", VirtualHost.TlsRequirement.NONE, V2))
        .cluster(V1, A).cluster(V2, B);
    FakeTransport transport = FakeTransport.answering(attempt -> 200);
    CallOptions gateway = EXPLAIN.withGatewayRoutes("http.8080");

    call(new Scene.Request("GET", "shop.example.com", 8080, "/cart", Map.of()), transport, gateway);
    call(new Scene.Request("GET", "api.example.com", 8080, "/cart", Map.of()), transport, gateway);

    assertThat(transport.attempts).extracting(Attempt::cluster).containsExactly(V1, V2);
  }

  @Test
  void answers404ForAGatewayCallToAHostNoVirtualHostNamesAndNeverPassesItThrough() throws IOException {
    scene.gatewayRoutes("http.8080", gatewayHost("shop.example.com", VirtualHost.TlsRequirement.NONE, V1)).cluster(V1, A);
    FakeTransport transport = FakeTransport.answering(attempt -> 200);

    FakeTransport.Response response = call(new Scene.Request("GET", "reviews", 9080, "/", Map.of()), transport,
        EXPLAIN.withGatewayRoutes("http.8080"));

    assertThat(response.status()).isEqualTo(404);
    assertThat(response.flag()).isEqualTo("NR");
    assertThat(transport.attempts).as("not even the mesh listener reviews:9080 is used").isEmpty();
  }

  @Test
  void redirectsAPlaintextGatewayCallToHttpsWhenItsVirtualHostRequiresTls() throws IOException {
    scene.gatewayRoutes("http.8080", gatewayHost("shop.example.com", VirtualHost.TlsRequirement.ALL, V1)).cluster(V1, A);
    FakeTransport transport = FakeTransport.answering(attempt -> 200);

    FakeTransport.Response response = call(new Scene.Request("GET", "shop.example.com", 8080, "/cart", Map.of()), transport,
        EXPLAIN.withGatewayRoutes("http.8080"));

    assertThat(response.status()).isEqualTo(301);
    assertThat(response.headers()).containsEntry("location", "https://shop.example.com/cart");
    assertThat(transport.attempts).isEmpty();
  }

  @Test
  void anHttpsRedirectKeepsTheQueryString() throws IOException {
    scene.gatewayRoutes("http.8080", gatewayHost("shop.example.com", VirtualHost.TlsRequirement.ALL, V1)).cluster(V1, A);
    FakeTransport transport = FakeTransport.answering(attempt -> 200);
    Scene.Request cart = new Scene.Request("GET", "shop.example.com", 8080, "/cart", Map.of());

    FakeTransport.Response response = call(new WithQuery(cart, "item=7&view=full"), transport,
        EXPLAIN.withGatewayRoutes("http.8080"));

    assertThat(response.status()).isEqualTo(301);
    assertThat(response.headers()).containsEntry("location", "https://shop.example.com/cart?item=7&view=full");
  }

  /** A scene request that carries a query string. */
  private record WithQuery(Scene.Request request, String query) implements RequestView {
    @Override
    public String method() {
      return request.method();
    }

    @Override
    public String host() {
      return request.host();
    }

    @Override
    public int port() {
      return request.port();
    }

    @Override
    public String scheme() {
      return request.scheme();
    }

    @Override
    public String path() {
      return request.path();
    }

    @Override
    public Optional<String> header(String name) {
      return request.header(name);
    }

    @Override
    public Optional<String> queryParameter(String name) {
      return Optional.empty();
    }

    @Override
    public Optional<String> rawQuery() {
      return Optional.of(query);
    }
  }

  private static VirtualHost gatewayHost(String domain, VirtualHost.TlsRequirement tls, String cluster) {
    return new VirtualHost(domain + ":8080", List.of(domain),
        List.of(new dev.inmesh.internal.routing.Route("to-" + domain, new dev.inmesh.internal.routing.RouteMatch(
            new dev.inmesh.internal.routing.StringMatcher.Prefix("/", false), List.of(), List.of()), forward(cluster))), tls);
  }

  @Test
  void answers503WithNcWhenTheRoutesClusterIsNotInTheConfig() throws IOException {
    scene.route("reviews", "/", forward(V2)).cluster(V1, A);

    FakeTransport.Response response = call(get("/"), FakeTransport.answering(attempt -> 200));

    assertThat(response.status()).isEqualTo(503);
    assertThat(response.flag()).isEqualTo("NC");
    assertThat(response.body()).isEqualTo("cluster " + V2 + " not found");
  }

  @Test
  void answersADirectResponseWithoutSendingAnything() throws IOException {
    scene.route("teapot", "/", new RouteAction.DirectResponse(418, "short and stout", HeaderMutations.NONE));
    FakeTransport transport = FakeTransport.answering(attempt -> 200);

    FakeTransport.Response response = call(get("/"), transport);

    assertThat(response.status()).isEqualTo(418);
    assertThat(response.body()).isEqualTo("short and stout");
    assertThat(response.flag()).isEqualTo("DR");
    assertThat(transport.attempts).isEmpty();
  }

  @Test
  void splitsCallsBetweenWeightedClustersByTheirWeights() throws IOException {
    scene.route("split", "/", forward(List.of(new RouteAction.WeightedCluster(V1, 80, HeaderMutations.NONE),
            new RouteAction.WeightedCluster(V2, 20, HeaderMutations.NONE)), Duration.ZERO, Optional.empty(), Optional.empty()))
        .cluster(V1, A).cluster(V2, B);
    FakeTransport transport = FakeTransport.answering(attempt -> 200);

    for (int i = 0; i < 2_000; i++) {
      call(get("/"), transport, CallOptions.DEFAULTS);
    }

    Map<String, Long> byCluster = transport.attempts.stream().collect(Collectors.groupingBy(Attempt::cluster, Collectors.counting()));
    // 1,600 and 400 expected; a binomial's spread at n=2,000 is about ±18
    assertThat(byCluster.get(V1)).isBetween(1_500L, 1_700L);
    assertThat(byCluster.get(V2)).isBetween(300L, 500L);
  }

  @Test
  void mirrorsACopyToTheShadowAuthorityAndAnswersFromTheRoutesCluster() throws Exception {
    RouteAction.Forward mirrored = new RouteAction.Forward(List.of(new RouteAction.WeightedCluster(V1, 100, HeaderMutations.NONE)),
        Duration.ZERO, Optional.empty(), Optional.empty(), Optional.empty(), HeaderMutations.NONE, HeaderMutations.NONE,
        List.of(new RouteAction.Mirror(V2, 1_000_000)), List.of());
    scene.route("reviews", "/", mirrored).cluster(V1, A).cluster(V2, B);
    FakeTransport transport = FakeTransport.answering(attempt -> 200);

    FakeTransport.Response response = call(get("/reviews/1"), transport);

    assertThat(response.status()).isEqualTo(200);
    assertThat(transport.attempts).singleElement().extracting(Attempt::endpoint).isEqualTo(A);
    assertThat(transport.mirrorArrived.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    synchronized (transport) {
      assertThat(transport.mirrored).singleElement().satisfies(copy -> {
        assertThat(copy.cluster()).isEqualTo(V2);
        assertThat(copy.endpoint()).isEqualTo(B);
        assertThat(copy.authority()).isEqualTo("reviews-shadow:9080");
        assertThat(copy.path()).isEqualTo("/reviews/1");
      });
    }
  }

  // fault

  @Test
  void delaysTheCallByTheFaultThenSendsIt() throws IOException {
    FaultConfig delay = new FaultConfig(Optional.of(new FaultConfig.Delay(Duration.ofSeconds(5), 100)), Optional.empty());
    scene.route("slow", "/", forward(List.of(new RouteAction.WeightedCluster(V1, 100, HeaderMutations.NONE)),
        Duration.ZERO, Optional.empty(), Optional.of(delay))).cluster(V1, A);
    FakeTransport transport = FakeTransport.answering(attempt -> 200);

    FakeTransport.Response response = call(get("/"), transport);

    assertThat(scene.sleeps).containsExactly(Duration.ofSeconds(5));
    assertThat(response.status()).isEqualTo(200);
    assertThat(transport.attempts).hasSize(1);
    assertThat(response.explanation()).contains("fault=delay 5000ms");
  }

  @Test
  void abortsWithTheFaultsStatusAndFiWithoutSendingTheCall() throws IOException {
    FaultConfig abort = new FaultConfig(Optional.empty(),
        Optional.of(new FaultConfig.Abort(new FaultConfig.AbortStatus.Http(503), 100)));
    scene.route("broken", "/", forward(List.of(new RouteAction.WeightedCluster(V1, 100, HeaderMutations.NONE)),
        Duration.ZERO, Optional.empty(), Optional.of(abort))).cluster(V1, A);
    FakeTransport transport = FakeTransport.answering(attempt -> 200);

    FakeTransport.Response response = call(get("/"), transport);

    assertThat(response.status()).isEqualTo(503);
    assertThat(response.body()).isEqualTo("fault filter abort");
    assertThat(response.flag()).isEqualTo("FI");
    assertThat(response.explanation()).contains("fault=abort 503");
    assertThat(transport.attempts).isEmpty();
  }

  // retry

  @Test
  void retriesA5xxOnAnotherEndpointAndAnswersTheRetrysResponse() throws IOException {
    scene.route("reviews", "/", retrying(V1, Duration.ZERO, retries(2, List.of("5xx"), List.of(), Optional.empty())))
        .cluster(V1, A, B);
    FakeTransport transport = FakeTransport.answering(attempt -> attempt.number() == 1 ? 503 : 200);

    FakeTransport.Response response = call(get("/"), transport);

    assertThat(response.status()).isEqualTo(200);
    assertThat(transport.attempts).extracting(Attempt::number).containsExactly(1, 2);
    assertThat(transport.attempts.get(0).endpoint()).isNotEqualTo(transport.attempts.get(1).endpoint());
    assertThat(transport.discarded).extracting(FakeTransport.Response::status).containsExactly(503);
    assertThat(scene.sleeps).hasSize(1).allSatisfy(pause -> assertThat(pause).isLessThan(Duration.ofMillis(25)));
  }

  @Test
  void retriesAConnectFailureEvenForAPostBecauseNothingWasSent() throws IOException {
    scene.route("reviews", "/", retrying(V1, Duration.ZERO, retries(2, List.of("connect-failure"), List.of(), Optional.empty())))
        .cluster(V1, A, B);
    FakeTransport transport = FakeTransport.answering(attempt -> {
      if (attempt.number() == 1) {
        throw new ConnectException("refused");
      }
      return 201;
    });

    FakeTransport.Response response = call(post("/orders"), transport);

    assertThat(response.status()).isEqualTo(201);
    assertThat(transport.attempts).hasSize(2);
  }

  @Test
  void neverRepeatsAPostThatReachedTheServer() throws IOException {
    scene.route("reviews", "/", retrying(V1, Duration.ZERO, retries(2, List.of("5xx"), List.of(), Optional.empty())))
        .cluster(V1, A, B);
    FakeTransport transport = FakeTransport.answering(attempt -> 503);

    FakeTransport.Response response = call(post("/orders"), transport);

    assertThat(response.status()).isEqualTo(503);
    assertThat(response.synthesized()).isFalse();
    assertThat(transport.attempts).hasSize(1);
  }

  @Test
  void retriesOnlyTheStatusCodesTheRouteNamesAsRetriable() throws IOException {
    scene.route("reviews", "/", retrying(V1, Duration.ZERO,
        retries(3, List.of("retriable-status-codes"), List.of(418), Optional.empty()))).cluster(V1, A, B, C);
    FakeTransport teapots = FakeTransport.answering(attempt -> attempt.number() < 3 ? 418 : 200);
    FakeTransport errors = FakeTransport.answering(attempt -> 500);

    assertThat(call(get("/"), teapots).status()).isEqualTo(200);
    assertThat(call(get("/"), errors).status()).isEqualTo(500);

    assertThat(teapots.attempts).hasSize(3);
    assertThat(errors.attempts).hasSize(1);
  }

  @Test
  void answers503WithUfWhenEveryAttemptFailsToConnect() throws IOException {
    scene.route("reviews", "/", retrying(V1, Duration.ZERO, retries(2, List.of("connect-failure"), List.of(), Optional.empty())))
        .cluster(V1, A, B, C);
    FakeTransport transport = FakeTransport.answering(attempt -> {
      throw new ConnectException("refused");
    });

    FakeTransport.Response response = call(get("/"), transport);

    assertThat(response.status()).isEqualTo(503);
    assertThat(response.flag()).isEqualTo("UF");
    assertThat(response.body()).isEqualTo(
        "upstream connect error or disconnect/reset before headers. reset reason: connection failure");
    assertThat(transport.attempts).extracting(Attempt::endpoint).containsExactlyInAnyOrder(A, B, C);
  }

  @Test
  void answersTheUpstreamsResponseWhenTheRetryBudgetIsExhausted() throws IOException {
    ConnectionLimits noRetries = new ConnectionLimits(1024, 1024, 1024, 0);
    scene.route("reviews", "/", retrying(V1, Duration.ZERO, retries(2, List.of("5xx"), List.of(), Optional.empty())))
        .cluster(V1, noRetries, Optional.empty(), Optional.empty(), A, B);
    FakeTransport transport = FakeTransport.answering(attempt -> 503);

    FakeTransport.Response response = call(get("/"), transport);

    assertThat(response.status()).isEqualTo(503);
    assertThat(response.synthesized()).isFalse();
    assertThat(transport.attempts).hasSize(1);
    assertThat(response.explanation()).contains("attempts=10.0.0.1:9080=503,retry=retry budget exhausted");
  }

  // deadlines

  @Test
  void givesEachTryItsPerTryTimeoutCappedByWhatIsLeftOfTheRouteDeadline() throws IOException {
    scene.route("reviews", "/", retrying(V1, Duration.ofSeconds(1),
        retries(3, List.of("reset"), List.of(), Optional.of(Duration.ofMillis(400))))).cluster(V1, A, B);
    FakeTransport transport = FakeTransport.answering(attempt -> {
      if (attempt.number() == 1) {
        scene.ticker.advance(Duration.ofMillis(700));
        throw new SocketTimeoutException("read timed out");
      }
      return 200;
    });

    FakeTransport.Response response = call(get("/"), transport);

    assertThat(response.status()).isEqualTo(200);
    Duration backoff = scene.sleeps.get(0);
    assertThat(transport.attempts.get(0).timeout()).isEqualTo(Duration.ofMillis(400));
    assertThat(transport.attempts.get(1).timeout()).isEqualTo(Duration.ofMillis(300).minus(backoff));
  }

  @Test
  void answers504WithUtWhenTheTryTimesOutAndNoRetryIsLeft() throws IOException {
    scene.route("reviews", "/", forward(List.of(new RouteAction.WeightedCluster(V1, 100, HeaderMutations.NONE)),
        Duration.ofSeconds(2), Optional.empty(), Optional.empty())).cluster(V1, A);
    FakeTransport transport = FakeTransport.answering(attempt -> {
      throw new SocketTimeoutException("timeout");
    });

    FakeTransport.Response response = call(get("/"), transport);

    assertThat(transport.attempts).singleElement().extracting(Attempt::timeout).isEqualTo(Duration.ofSeconds(2));
    assertThat(response.status()).isEqualTo(504);
    assertThat(response.flag()).isEqualTo("UT");
    assertThat(response.body()).isEqualTo("upstream request timeout");
  }

  @Test
  void stopsRetryingAtTheRouteDeadlineAndAnswersTheLastResponse() throws IOException {
    scene.route("reviews", "/", retrying(V1, Duration.ofSeconds(1), retries(5, List.of("5xx"), List.of(), Optional.empty())))
        .cluster(V1, A, B);
    FakeTransport transport = FakeTransport.answering(attempt -> {
      scene.ticker.advance(Duration.ofMillis(600));
      return 503;
    });

    FakeTransport.Response response = call(get("/"), transport);

    assertThat(transport.attempts).hasSize(2);
    assertThat(response.status()).isEqualTo(503);
    assertThat(response.explanation()).contains("retry=route timeout reached");
  }

  @Test
  void answers504WithUtWhenTheDeadlinePassesDuringTheBackoff() throws IOException {
    RouteAction.RetryPolicy slowBackoff = new RouteAction.RetryPolicy(3, List.of("5xx"), List.of(), Optional.empty(),
        Duration.ofSeconds(10), Duration.ofSeconds(10));
    scene.route("reviews", "/", retrying(V1, Duration.ofMillis(100), slowBackoff)).cluster(V1, A, B);
    FakeTransport transport = FakeTransport.answering(attempt -> 503);

    FakeTransport.Response response = call(get("/"), transport);

    assertThat(scene.sleeps).singleElement().isEqualTo(Duration.ofMillis(100));
    assertThat(response.status()).isEqualTo(504);
    assertThat(response.flag()).isEqualTo("UT");
  }

  // balancing

  @Test
  void spreadsCallsEvenlyOverTheClustersEndpoints() throws IOException {
    scene.route("reviews", "/", forward(V1)).cluster(V1, A, B, C);
    FakeTransport transport = FakeTransport.answering(attempt -> 200);

    for (int i = 0; i < 30; i++) {
      call(get("/"), transport, CallOptions.DEFAULTS);
    }

    Map<Endpoint, Long> byEndpoint = transport.attempts.stream()
        .collect(Collectors.groupingBy(Attempt::endpoint, Collectors.counting()));
    assertThat(byEndpoint).containsOnly(Map.entry(A, 10L), Map.entry(B, 10L), Map.entry(C, 10L));
  }

  @Test
  void answers503WithUhWhenTheClusterHasNoEndpoints() throws IOException {
    scene.route("reviews", "/", forward(V1)).cluster(V1);

    FakeTransport.Response response = call(get("/"), FakeTransport.answering(attempt -> 200));

    assertThat(response.status()).isEqualTo(503);
    assertThat(response.flag()).isEqualTo("UH");
    assertThat(response.body()).isEqualTo("no healthy upstream");
  }

  @Test
  void ejectsAnEndpointAfterConsecutive5xxAndSendsItNothingMore() throws IOException {
    OutlierDetectionConfig twoStrikes = new OutlierDetectionConfig(2, 0, Duration.ofSeconds(10), Duration.ofSeconds(30), 100, 0);
    scene.route("reviews", "/", forward(V1))
        .cluster(V1, ConnectionLimits.defaults(), Optional.of(twoStrikes), Optional.empty(), A, B, C);
    FakeTransport transport = FakeTransport.answering(attempt -> attempt.endpoint().equals(A) ? 503 : 200);

    for (int i = 0; i < 6; i++) {
      call(get("/"), transport, CallOptions.DEFAULTS);
    }
    int before = transport.attempts.size();
    for (int i = 0; i < 20; i++) {
      call(get("/"), transport, CallOptions.DEFAULTS);
    }

    assertThat(transport.attempts.subList(0, before)).extracting(Attempt::endpoint).filteredOn(A::equals).hasSize(2);
    assertThat(transport.attempts.subList(before, transport.attempts.size())).extracting(Attempt::endpoint)
        .doesNotContain(A).contains(B, C);
    assertThat(scene.runtime(V1).outliers().isEjected(A)).isTrue();
  }

  @Test
  void recordsEachAttemptsOutcomeInTheClustersLoadReport() throws IOException {
    scene.route("reviews", "/", retrying(V1, Duration.ZERO, retries(1, List.of("5xx"), List.of(), Optional.empty())))
        .cluster(V1, A, B);
    FakeTransport transport = FakeTransport.answering(attempt -> attempt.number() == 1 ? 500 : 200);

    call(get("/"), transport);

    Endpoint first = transport.attempts.get(0).endpoint();
    Endpoint second = transport.attempts.get(1).endpoint();
    assertThat(scene.runtime(V1).loadStats().drain())
        .containsOnly(Map.entry(first, new LoadStats.Counts(1, 0, 1)), Map.entry(second, new LoadStats.Counts(1, 1, 0)));
    assertThat(scene.runtime(V1).inFlight()).isZero();
  }

  // endpoint

  @Test
  void answers503WithUoWhenTheConnectionPoolHasNoRoomForAnotherPendingRequest() throws IOException {
    ConnectionLimits oneConnectionNoQueue = new ConnectionLimits(1, 0, 1024, 3);
    scene.route("reviews", "/", forward(V1)).cluster(V1, oneConnectionNoQueue, Optional.empty(), Optional.empty(), A);
    FakeTransport transport = FakeTransport.answering(attempt -> 200);
    pipeline = scene.pipeline();
    Admission held = scene.runtime(V1).limiter().tryAcquire();
    assertThat(held).isInstanceOf(Admission.Permit.class);

    FakeTransport.Response response = call(get("/"), transport);

    assertThat(response.status()).isEqualTo(503);
    assertThat(response.flag()).isEqualTo("UO");
    assertThat(response.body()).startsWith("upstream overflow: " + V1 + ": max pending 0 waiting");
    assertThat(transport.attempts).isEmpty();
    ((Admission.Permit) held).close();
    assertThat(call(get("/"), transport).status()).isEqualTo(200);
  }

  @Test
  void answers503WithUoWhenTheTransportsPoolRefusesTheAttempt() throws IOException {
    scene.route("reviews", "/", retrying(V1, Duration.ZERO, retries(2, List.of("5xx", "reset"), List.of(), Optional.empty())))
        .cluster(V1, A, B);
    FakeTransport transport = FakeTransport.answering(attempt -> {
      throw new UpstreamOverflowException(new Admission.Refusal(Admission.Limit.MAX_PENDING_REQUESTS, "max pending 1 waiting"));
    });

    FakeTransport.Response response = call(get("/"), transport);

    assertThat(response.status()).isEqualTo(503);
    assertThat(response.flag()).isEqualTo("UO");
    assertThat(transport.attempts).hasSize(1);
  }

  @Test
  void answers503WithUfForAMutualTlsClusterWhenTheWorkloadHasNoCertificate() throws IOException {
    UpstreamTls meshTls = new UpstreamTls(Set.of("spiffe://cluster.local/ns/default/sa/reviews"), "reviews",
        UpstreamTls.Scope.EVERY_ENDPOINT, Optional.empty());
    scene.route("reviews", "/", forward(V1)).cluster(V1, ConnectionLimits.defaults(), Optional.empty(), Optional.of(meshTls), A);
    FakeTransport transport = FakeTransport.answering(attempt -> 200);

    FakeTransport.Response response = call(get("/"), transport);

    assertThat(response.status()).isEqualTo(503);
    assertThat(response.flag()).isEqualTo("UF");
    assertThat(response.body()).contains("requires mesh mutual TLS, and this Mesh has no certificate");
    assertThat(transport.attempts).isEmpty();
  }

  @Test
  void sendsAMutualTlsClustersAttemptWithItsIdentitiesWhenTheWorkloadHasACertificate() throws IOException {
    UpstreamTls meshTls = new UpstreamTls(Set.of("spiffe://cluster.local/ns/default/sa/reviews"), "reviews",
        UpstreamTls.Scope.EVERY_ENDPOINT, Optional.empty());
    scene.route("reviews", "/", forward(V1)).cluster(V1, ConnectionLimits.defaults(), Optional.empty(), Optional.of(meshTls), A)
        .withMeshCertificate();
    FakeTransport transport = FakeTransport.answering(attempt -> 200);

    assertThat(call(get("/"), transport).status()).isEqualTo(200);
    assertThat(transport.attempts).singleElement().extracting(Attempt::tls, org.assertj.core.api.InstanceOfAssertFactories.OPTIONAL)
        .isPresent();
  }

  @Test
  void leavesTheExplanationOutUnlessTheCallerAsks() throws IOException {
    scene.route("reviews", "/", forward(V1)).cluster(V1, A);

    FakeTransport.Response response = call(get("/"), FakeTransport.answering(attempt -> 200), CallOptions.DEFAULTS);

    assertThat(response.headers()).doesNotContainKey(OutboundPipeline.EXPLAIN_HEADER);
  }
}
