package dev.inmesh.control.explain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.Locality;
import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.translate.ClientProfile;
import dev.inmesh.control.translate.MeshState;
import dev.inmesh.control.translate.Translation;
import dev.inmesh.control.translate.XdsTranslator;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.internal.xds.XdsDecoder;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import java.net.InetAddress;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Authorization explained over what mesh-control's translator makes of Istio YAML: the caller's
 * clusters decide the transport, the destination's server listener (read by the servers' parser)
 * decides the request, with no sockets.
 */
class AuthorizationExplainerTest {
  private static final String PRODUCTPAGE = "spiffe://cluster.local/ns/default/sa/productpage";
  private static final String VIEWER = """
      apiVersion: security.istio.io/v1
      kind: AuthorizationPolicy
      metadata:
        name: reviews-viewer
      spec:
        selector:
          matchLabels:
            app: reviews
        action: ALLOW
        rules:
        - from:
          - source:
              principals: [cluster.local/ns/default/sa/productpage]
          to:
          - operation:
              methods: [GET]
      """;
  private static final String STRICT = """
      apiVersion: security.istio.io/v1
      kind: PeerAuthentication
      metadata:
        name: default
      spec:
        mtls:
          mode: STRICT
      """;

  private final XdsTranslator translator = new XdsTranslator(host -> List.of());
  private final List<Workload> workloads = List.of(new Workload("reviews-1", new WorkloadMetadata("reviews", "default",
      "reviews", "reviews-v1", Map.of("app", "reviews", "version", "v1", "security.istio.io/tlsMode", "istio"), "127.0.0.1",
      List.of(new ServicePort("http", 9080, 9001, "HTTP")), new Locality("", "", "")), Instant.EPOCH));

  /** Explains {@code method} to reviews as a client of {@code caller}, the destination holding what its own profile is sent. */
  private List<RequestExplanation.Authorization> explain(ClientProfile caller, String method, Optional<String> identity,
      String... yaml) {
    ParseResult parsed = ConfigParser.defaults().parse("test.yaml", String.join("\n---\n", yaml));
    assertThat(parsed.errors()).isEmpty();
    MeshState state = new MeshState(parsed.resources(), workloads);
    XdsDecoder.Decoded client = decode(translator.translate(state, caller));
    Translation server = translator.translate(state, new ClientProfile("default", false, true));
    ExplainRequest request = ExplainRequest.parse(method, "http://reviews:9080/reviews/1", List.of());
    RequestExplanation routing = RequestExplainer.explain("client", client.resources(), request);
    return AuthorizationExplainer.explain(client.resources(), routing, request, identity, InetAddress.getLoopbackAddress(),
        endpoint -> {
          String name = AuthorizationExplainer.SERVER_LISTENER + endpoint.address() + ":" + endpoint.port();
          Listener listener = server.listeners().stream().filter(l -> l.getName().equals(name)).findFirst().orElseThrow();
          try {
            return Optional.of(new AuthorizationExplainer.Destination("reviews-1", Optional.of(XdsDecoder.inbound(listener)),
                name, ""));
          } catch (dev.inmesh.internal.xds.XdsParseException e) {
            throw new AssertionError(e);
          }
        });
  }

  private static XdsDecoder.Decoded decode(Translation translation) {
    XdsDecoder.Decoded decoded = XdsDecoder.decode(translation.listeners(), translation.routes(), translation.clusters(),
        translation.endpoints());
    assertThat(decoded.errors()).isEmpty();
    return decoded;
  }

  @Test
  void theCallersCertificateIsThePrincipalThatAnAllowRuleMatches() {
    List<RequestExplanation.Authorization> decisions = explain(new ClientProfile("default", false, true), "GET",
        Optional.of(PRODUCTPAGE), VIEWER);

    assertThat(decisions).hasSize(1);
    RequestExplanation.Authorization decision = decisions.get(0);
    assertThat(decision.endpoint()).isEqualTo("127.0.0.1:9001");
    assertThat(decision.principal()).contains(PRODUCTPAGE);
    assertThat(decision.decision()).isEqualTo("allowed");
    assertThat(decision.detail()).isEqualTo("allowed by ALLOW policy AuthorizationPolicy default/reviews-viewer, rule 0");
    assertThat(decision.policy()).contains("ns[default]-policy[reviews-viewer]-rule[0]");
  }

  @Test
  void anotherPrincipalOrAnotherMethodMatchesNoAllowRule() {
    assertThat(explain(new ClientProfile("default", false, true), "GET",
        Optional.of("spiffe://cluster.local/ns/default/sa/ratings"), VIEWER).get(0).detail())
        .isEqualTo("allow policies present, none matched: denied");
    assertThat(explain(new ClientProfile("default", false, true), "POST", Optional.of(PRODUCTPAGE), VIEWER).get(0).decision())
        .isEqualTo("denied");
  }

  @Test
  void aPlaintextCallerSendsNoPrincipalAndAStrictPortRefusesIt() {
    RequestExplanation.Authorization plaintext = explain(ClientProfile.inmesh("default"), "GET", Optional.of(PRODUCTPAGE),
        VIEWER, STRICT).get(0);

    assertThat(plaintext.principal()).isEmpty();
    assertThat(plaintext.mtls()).contains("STRICT");
    assertThat(plaintext.decision()).isEqualTo("denied");
    assertThat(plaintext.detail()).contains("takes mutual TLS only (STRICT)").contains("plaintext");
  }

  @Test
  void withNoPolicyEverythingIsAllowed() {
    assertThat(explain(new ClientProfile("default", false, true), "DELETE", Optional.empty()).get(0).detail())
        .isEqualTo("no policy: allowed");
  }

  @Test
  void principalsAreTakenAsIstioWritesThemOrAsSpiffeUris() {
    assertThat(AuthorizationExplainer.principal("cluster.local/ns/default/sa/sleep"))
        .isEqualTo("spiffe://cluster.local/ns/default/sa/sleep");
    assertThat(AuthorizationExplainer.principal(PRODUCTPAGE)).isEqualTo(PRODUCTPAGE);
    assertThatThrownBy(() -> AuthorizationExplainer.principal("sleep")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("<trust-domain>/ns/<namespace>/sa/<service-account>").hasMessageContaining("'sleep'");
  }

  @Test
  void istioPolicyNamesAreReadBack() {
    assertThat(AuthorizationExplainer.describe("ns[foo]-policy[deny-all]-rule[2]"))
        .isEqualTo("AuthorizationPolicy foo/deny-all, rule 2");
    assertThat(AuthorizationExplainer.describe("something-else")).isEqualTo("something-else");
  }
}
