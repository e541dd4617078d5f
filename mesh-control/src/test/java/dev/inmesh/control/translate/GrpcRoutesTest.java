package dev.inmesh.control.translate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Istio's HTTP routes as proxyless gRPC clients get them, and the warnings for what grpc-java won't do. */
class GrpcRoutesTest {
  private static final String VIRTUAL_SERVICE = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: ratings, namespace: default}
      spec:
        hosts: [ratings]
        http:
        - match: [{uri: {prefix: /old}}]
          redirect: {uri: /new}
        - match: [{uri: {prefix: /gone}}]
          directResponse: {status: 503}
        - route: [{destination: {host: ratings}}]
          mirror: {host: ratings}
          headers: {request: {set: {x-test: "1"}}}
      """;

  private final XdsTranslator translator = new XdsTranslator(host -> List.of(), "cluster.local");
  private final List<Workload> workloads = List.of(new Workload("ratings-1", new WorkloadMetadata("ratings", "default",
      "ratings", "ratings-v1", Map.of("app", "ratings"), "127.0.0.1", List.of(new ServicePort("http", 9080, 9001, "HTTP")),
      new Locality("", "", "")), Instant.EPOCH));

  @Test
  void aRedirectOrDirectResponseReachesProxylessGrpcAsAnAbortWithItsStatusNotAsARouteItWouldNack() throws Exception {
    List<Route> routes = routes(new ClientProfile("default", true, true));

    assertThat(routes).extracting(Route::getActionCase).containsOnly(Route.ActionCase.ROUTE);
    assertThat(abortStatus(routes.get(0))).isEqualTo(301);
    assertThat(abortStatus(routes.get(1))).isEqualTo(503);
    assertThat(routes.get(0).getRoute().getCluster()).isEqualTo("outbound|9080||ratings.default.svc.cluster.local");
    assertThat(routes.get(2).getTypedPerFilterConfigMap()).doesNotContainKey(XdsTranslator.FAULT_FILTER);
  }

  @Test
  void inmeshClientsKeepTheRedirectAndTheDirectResponse() {
    assertThat(routes(new ClientProfile("default", false, true))).extracting(Route::getActionCase)
        .containsExactly(Route.ActionCase.REDIRECT, Route.ActionCase.DIRECT_RESPONSE, Route.ActionCase.ROUTE);
  }

  @Test
  void whatGrpcJavaWontDoIsWarnedOfNamingTheFieldAndTheClientKind() {
    assertThat(translate(new ClientProfile("default", true, true)).warnings()).extracting(Problem::field, Problem::message)
        .contains(
            org.assertj.core.groups.Tuple.tuple("spec.http[2].mirror", "proxyless gRPC clients do not mirror: spec.http[2].mirror"),
            org.assertj.core.groups.Tuple.tuple("spec.http[0].redirect", "proxyless gRPC clients cannot follow a redirect:"
                + " spec.http[0].redirect; their calls fail with the redirect's status instead"),
            org.assertj.core.groups.Tuple.tuple("spec.http[1].directResponse", "proxyless gRPC clients take no direct response:"
                + " spec.http[1].directResponse; their calls fail with its status, without its body"),
            org.assertj.core.groups.Tuple.tuple("spec.http[2].headers",
                "proxyless gRPC clients do not add, set or remove headers: spec.http[2].headers"));
    assertThat(translate(new ClientProfile("default", false, true)).warnings())
        .noneMatch(w -> w.message().contains("proxyless gRPC"));
  }

  @Test
  void theWarningsComeWithTheApply() {
    Preflight preflight = new Preflight(translator);
    MeshState after = state();

    assertThat(preflight.check(new MeshState(List.of(), workloads), after, after.config(), List.of()))
        .allMatch(p -> !p.isError())
        .anySatisfy(p -> assertThat(p.toString()).contains("VirtualService/default/ratings: spec.http[2].mirror: proxyless"));
  }

  private List<Route> routes(ClientProfile profile) {
    return translate(profile).routes().stream()
        .filter(r -> r.getName().equals("ratings.default.svc.cluster.local:9080")).findFirst().orElseThrow()
        .getVirtualHosts(0).getRoutesList();
  }

  private Translation translate(ClientProfile profile) {
    return translator.translate(state(), profile);
  }

  private MeshState state() {
    ParseResult parsed = ConfigParser.defaults().parse("test.yaml", VIRTUAL_SERVICE);
    assertThat(parsed.errors()).isEmpty();
    return new MeshState(parsed.resources(), workloads);
  }

  private static int abortStatus(Route route) throws Exception {
    return route.getTypedPerFilterConfigOrThrow(XdsTranslator.FAULT_FILTER).unpack(HTTPFault.class).getAbort().getHttpStatus();
  }
}
