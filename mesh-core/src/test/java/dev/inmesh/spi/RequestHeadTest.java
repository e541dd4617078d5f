package dev.inmesh.spi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.identity.SpiffeId;
import dev.inmesh.inbound.PeerInfo;
import dev.inmesh.internal.security.authz.AuthzRequest;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RequestHeadTest {
  private static final Map<String, List<String>> HEADERS = Map.of(
      "x-team", List.of("blue", "green"),
      "accept", List.of("text/plain"),
      "host", List.of("reviews:9080"));
  private static final RequestHead HEAD = new RequestHead("GET", "reviews:9080", "/reviews/1?full=true&x=%2F",
      name -> HEADERS.getOrDefault(name, List.of()));

  private static final PeerInfo MTLS_PEER = new PeerInfo(new InetSocketAddress("10.1.2.3", 40000),
      new InetSocketAddress("127.0.0.1", 9080), PeerInfo.Security.MUTUAL_TLS,
      Optional.of(new SpiffeId("cluster.local", "default", "productpage")), Optional.of("reviews.default.svc"));
  private static final PeerInfo PLAINTEXT_PEER = new PeerInfo(new InetSocketAddress("10.1.2.4", 40001),
      new InetSocketAddress("127.0.0.1", 9080), PeerInfo.Security.NONE, Optional.empty(), Optional.empty());

  @Test
  void repeatedHeadersAreJoinedWithACommaAsEnvoyJoinsThem() {
    assertThat(HEAD.header("x-team")).contains("blue,green");
    assertThat(HEAD.header("X-Team")).contains("blue,green");
    assertThat(HEAD.header("accept")).contains("text/plain");
    assertThat(HEAD.header("x-missing")).isEmpty();
  }

  @Test
  void authorizationSeesTheHeadersAuthenticationRemovedAndSetNotTheCallersCopies() {
    RequestHead forged = new RequestHead("GET", "reviews:9080", "/", name -> switch (name) {
      case "x-jwt-payload" -> List.of("eyJzdWIiOiJtYWxsb3J5In0");
      case "x-claim-role" -> List.of("admin");
      case "accept" -> List.of("text/plain");
      default -> List.of();
    });
    RequestHeaderChanges changes = new RequestHeaderChanges(java.util.Set.of("x-jwt-payload", "x-claim-role"),
        Map.of("x-claim-role", "reader"));

    AuthzRequest request = forged.withHeaderChanges(changes).toAuthzRequest(PLAINTEXT_PEER, 9080);

    assertThat(request.header("x-jwt-payload")).isEmpty();
    assertThat(request.header("X-Claim-Role")).contains("reader");
    assertThat(request.header("accept")).contains("text/plain");
    assertThat(forged.withHeaderChanges(RequestHeaderChanges.NONE)).isSameAs(forged);
  }

  @Test
  void theAuthzRequestCarriesTheRealSourceThePublicPortAndTheRawPathWithQuery() {
    AuthzRequest request = HEAD.toAuthzRequest(MTLS_PEER, 9080);

    assertThat(request.principal()).contains("spiffe://cluster.local/ns/default/sa/productpage");
    assertThat(request.sourceIp().getHostAddress()).isEqualTo("10.1.2.3");
    assertThat(request.destinationIp().getHostAddress()).isEqualTo("127.0.0.1");
    assertThat(request.destinationPort()).isEqualTo(9080);
    assertThat(request.method()).isEqualTo("GET");
    assertThat(request.header(":authority")).contains("reviews:9080");
    assertThat(request.path()).isEqualTo("/reviews/1?full=true&x=%2F");
    assertThat(request.urlPath()).isEqualTo("/reviews/1");
    assertThat(request.header("x-team")).contains("blue,green");
    assertThat(request.sni()).contains("reviews.default.svc");
  }

  @Test
  void aPlaintextPeerHasNoPrincipalAndNoSni() {
    AuthzRequest request = HEAD.toAuthzRequest(PLAINTEXT_PEER, 9080);

    assertThat(request.principal()).isEmpty();
    assertThat(request.sni()).isEmpty();
  }

  @Test
  void thePathIsRawPathAndRawQuery() {
    assertThat(RequestHead.pathWithQuery("/a%20b", "q=1")).isEqualTo("/a%20b?q=1");
    assertThat(RequestHead.pathWithQuery("/a", null)).isEqualTo("/a");
    assertThat(RequestHead.pathWithQuery("/a", "")).isEqualTo("/a?");
    assertThat(RequestHead.pathWithQuery(null, null)).isEqualTo("/");
  }
}
