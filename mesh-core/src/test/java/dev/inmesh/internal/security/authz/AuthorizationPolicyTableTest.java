package dev.inmesh.internal.security.authz;

import static dev.inmesh.internal.security.authz.IstioRules.allow;
import static dev.inmesh.internal.security.authz.IstioRules.deny;
import static dev.inmesh.internal.security.authz.IstioRules.engines;
import static dev.inmesh.internal.security.authz.IstioRules.hosts;
import static dev.inmesh.internal.security.authz.IstioRules.ipBlocks;
import static dev.inmesh.internal.security.authz.IstioRules.methods;
import static dev.inmesh.internal.security.authz.IstioRules.namespaces;
import static dev.inmesh.internal.security.authz.IstioRules.not;
import static dev.inmesh.internal.security.authz.IstioRules.paths;
import static dev.inmesh.internal.security.authz.IstioRules.ports;
import static dev.inmesh.internal.security.authz.IstioRules.principals;
import static dev.inmesh.internal.security.authz.IstioRules.remoteIpBlocks;
import static dev.inmesh.internal.security.authz.IstioRules.requestHeader;
import static dev.inmesh.internal.security.authz.IstioRules.rule;
import static dev.inmesh.internal.security.authz.Requests.RATINGS;
import static dev.inmesh.internal.security.authz.Requests.request;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Istio's AuthorizationPolicy semantics, one ALLOW/DENY combination per row. */
class AuthorizationPolicyTableTest {
  private static final AuthzDecision NO_MATCH = new AuthzDecision.Denied(AuthzDecision.Denied.NO_ALLOW_POLICY_MATCHED);
  private static final AuthzDecision ALLOWED_WITHOUT_POLICY = new AuthzDecision.Allowed(Optional.empty());

  private static final Policy VIEWER = rule("ns[shop]-policy[reviews-viewer]-rule[0]",
      List.of(methods("GET"), paths("/reviews/*")), List.of(principals("cluster.local/ns/shop/sa/productpage")));
  private static final Policy DENY_RATINGS = rule("ns[shop]-policy[deny-ratings]-rule[0]",
      List.of(), List.of(principals("cluster.local/ns/shop/sa/ratings")));
  private static final Policy SHOP_READERS = rule("ns[shop]-policy[shop-readers]-rule[0]",
      List.of(methods("GET")), List.of(namespaces("shop")));
  private static final Policy DENY_OUTSIDERS = rule("ns[shop]-policy[deny-outsiders]-rule[0]",
      List.of(), List.of(not(namespaces("shop"))));

  private static AuthzDecision allowedBy(Policy policy) {
    return new AuthzDecision.Allowed(Optional.of(policy.name()));
  }

  private static AuthzDecision deniedBy(Policy policy) {
    return new AuthzDecision.Denied(policy.name());
  }

  private static Arguments row(String sentence, AuthorizationEngine engine, Requests request, AuthzDecision expected) {
    return Arguments.of(sentence, engine, request, expected);
  }

  private static AuthorizationEngine allowOnly(String name, List<Permission> to, List<Principal> from) {
    return engines(allow(rule(name, to, from)));
  }

  static Stream<Arguments> table() {
    Policy anyPeer = rule("any-peer", List.of(), List.of(principals("*")));
    Policy productPrefix = rule("product-prefix", List.of(), List.of(principals("cluster.local/ns/shop/sa/product*")));
    Policy ratingsSuffix = rule("ratings-suffix", List.of(), List.of(principals("*/sa/ratings")));
    Policy shopOnly = rule("shop-only", List.of(), List.of(namespaces("shop")));
    Policy allButRatings = rule("all-but-ratings", List.of(),
        List.of(principals("*"), not(principals("cluster.local/ns/shop/sa/ratings"))));
    Policy css = rule("css", List.of(paths("*.css")), List.of());
    Policy healthz = rule("healthz", List.of(paths("/healthz")), List.of());
    Policy apiButAdmin = rule("api-but-admin", List.of(paths("/api/*"), not(paths("/api/admin/*"))), List.of());
    Policy writes = rule("deny-writes", List.of(not(methods("GET", "HEAD"))), List.of());
    Policy port9080 = rule("port-9080", List.of(ports(9080)), List.of());
    Policy reviewsHost = rule("reviews-host", List.of(hosts("reviews.shop")), List.of());
    Policy tenNet = rule("ten-net", List.of(), List.of(ipBlocks("10.0.0.0/8")));
    Policy docNet6 = rule("doc-net-6", List.of(), List.of(ipBlocks("2001:db8::/32")));
    Policy outsideTenNet = rule("deny-outside-ten-net", List.of(), List.of(not(ipBlocks("10.0.0.0/8"))));
    Policy remoteTenNet = rule("remote-ten-net", List.of(), List.of(remoteIpBlocks("10.0.0.0/8")));
    Policy token = rule("token", List.of(), List.of(requestHeader("x-token", "secret-*")));
    Policy notProd = rule("deny-not-prod", List.of(), List.of(not(requestHeader("x-env", "prod"))));
    Policy getters = rule("a-getters", List.of(methods("GET")), List.of());
    Policy fromShop = rule("b-from-shop", List.of(), List.of(namespaces("shop")));
    return Stream.of(
        // to.operation: methods and paths
        row("productpage may GET /reviews/1", engines(allow(VIEWER)), request(), allowedBy(VIEWER)),
        row("productpage may not POST /reviews/1", engines(allow(VIEWER)), request().method("POST"), NO_MATCH),
        row("productpage may not GET a path outside /reviews/", engines(allow(VIEWER)), request().path("/ratings/1"), NO_MATCH),
        row("the query string is not part of the path", engines(allow(VIEWER)), request().path("/reviews/1?next=/admin"), allowedBy(VIEWER)),
        row("a path suffix wildcard matches the end", engines(allow(css)), request().path("/static/site.css"), allowedBy(css)),
        row("a path suffix wildcard refuses another end", engines(allow(css)), request().path("/static/site.js"), NO_MATCH),
        row("an exact path matches itself with a query", engines(allow(healthz)), request().path("/healthz?full=1"), allowedBy(healthz)),
        row("an exact path refuses a longer path", engines(allow(healthz)), request().path("/healthz/x"), NO_MATCH),
        row("notPaths carves a hole in paths", engines(allow(apiButAdmin)), request().path("/api/admin/users"), NO_MATCH),
        row("notPaths leaves the rest of paths", engines(allow(apiButAdmin)), request().path("/api/users"), allowedBy(apiButAdmin)),
        row("notMethods in a DENY policy refuses a POST", engines(deny(writes)), request().method("POST"), deniedBy(writes)),
        row("notMethods in a DENY policy lets a GET through", engines(deny(writes)), request(), ALLOWED_WITHOUT_POLICY),
        row("ports refuse another port", engines(allow(port9080)), request().port(9090), NO_MATCH),
        row("ports admit their port", engines(allow(port9080)), request().port(9080), allowedBy(port9080)),
        row("hosts match without regard to case", engines(allow(reviewsHost)), request().host("Reviews.Shop"), allowedBy(reviewsHost)),
        // DENY before ALLOW
        row("ratings may not call reviews although an ALLOW policy matches it",
            engines(deny(DENY_RATINGS), allow(SHOP_READERS)), request().from(RATINGS), deniedBy(DENY_RATINGS)),
        row("DENY is checked first whatever the order of the engines",
            engines(allow(SHOP_READERS), deny(DENY_RATINGS)), request().from(RATINGS), deniedBy(DENY_RATINGS)),
        row("a request no DENY policy matches goes on to the ALLOW policies",
            engines(deny(DENY_RATINGS), allow(SHOP_READERS)), request(), allowedBy(SHOP_READERS)),
        row("a request no DENY policy matches is still refused when no ALLOW policy matches",
            engines(deny(DENY_RATINGS), allow(SHOP_READERS)), request().method("DELETE"), NO_MATCH),
        row("with only DENY policies, what they do not match is allowed", engines(deny(DENY_RATINGS)), request(), ALLOWED_WITHOUT_POLICY),
        row("without policies everything is allowed, plaintext included", AuthorizationEngine.EMPTY,
            request().plaintext().method("DELETE"), ALLOWED_WITHOUT_POLICY),
        row("an ALLOW engine without policies allows nothing", engines(allow()), request(), NO_MATCH),
        row("the first of several matching ALLOW policies is reported", engines(allow(getters, fromShop)), request(), allowedBy(getters)),
        // from.source: principals, namespaces and their not forms; plaintext against mTLS
        row("a plaintext request matches no principal", engines(allow(VIEWER)), request().plaintext(), NO_MATCH),
        row("principals '*' admits any mTLS peer", engines(allow(anyPeer)), request().from("spiffe://other.td/ns/x/sa/y"), allowedBy(anyPeer)),
        row("principals '*' refuses plaintext", engines(allow(anyPeer)), request().plaintext(), NO_MATCH),
        row("a principal prefix admits what starts with it", engines(allow(productPrefix)), request(), allowedBy(productPrefix)),
        row("a principal prefix refuses the rest", engines(allow(productPrefix)), request().from(RATINGS), NO_MATCH),
        row("a principal suffix admits what ends with it", engines(allow(ratingsSuffix)), request().from(RATINGS), allowedBy(ratingsSuffix)),
        row("a principal suffix refuses the rest", engines(allow(ratingsSuffix)), request(), NO_MATCH),
        row("a namespace admits its service accounts", engines(allow(shopOnly)), request(), allowedBy(shopOnly)),
        row("a namespace does not admit a longer namespace name", engines(allow(shopOnly)),
            request().from("spiffe://cluster.local/ns/shopping/sa/productpage"), NO_MATCH),
        row("a namespace admits no plaintext request", engines(allow(shopOnly)), request().plaintext(), NO_MATCH),
        row("notNamespaces in a DENY policy refuses another namespace", engines(deny(DENY_OUTSIDERS)),
            request().from("spiffe://cluster.local/ns/other/sa/productpage"), deniedBy(DENY_OUTSIDERS)),
        row("notNamespaces in a DENY policy refuses plaintext too", engines(deny(DENY_OUTSIDERS)), request().plaintext(), deniedBy(DENY_OUTSIDERS)),
        row("notNamespaces in a DENY policy lets its own namespace through", engines(deny(DENY_OUTSIDERS)), request(), ALLOWED_WITHOUT_POLICY),
        row("notPrincipals takes a peer out of an ALLOW rule", engines(allow(allButRatings)), request().from(RATINGS), NO_MATCH),
        row("notPrincipals leaves the other peers in", engines(allow(allButRatings)), request(), allowedBy(allButRatings)),
        // when: source.ip, remote.ip and request.headers
        row("ipBlocks admit an address inside the block", engines(allow(tenNet)), request().sourceIp("10.1.2.3"), allowedBy(tenNet)),
        row("ipBlocks refuse an address outside the block", engines(allow(tenNet)), request().sourceIp("192.168.1.1"), NO_MATCH),
        row("ipBlocks work for IPv6", engines(allow(docNet6)), request().sourceIp("2001:db8:1::5"), allowedBy(docNet6)),
        row("an IPv6 block refuses an IPv6 address outside it", engines(allow(docNet6)), request().sourceIp("2001:db9::1"), NO_MATCH),
        row("an IPv6 block refuses an IPv4 address", engines(allow(docNet6)), request().sourceIp("10.1.2.3"), NO_MATCH),
        row("notIpBlocks in a DENY policy refuses an outside address", engines(deny(outsideTenNet)),
            request().sourceIp("192.168.1.1"), deniedBy(outsideTenNet)),
        row("remote.ip is the peer address, as no proxy hop is trusted", engines(allow(remoteTenNet)),
            request().sourceIp("10.9.9.9").header("x-forwarded-for", "192.168.1.1"), allowedBy(remoteTenNet)),
        row("a header condition admits a matching value", engines(allow(token)), request().header("x-token", "secret-1"), allowedBy(token)),
        row("a header condition refuses another value", engines(allow(token)), request().header("x-token", "public"), NO_MATCH),
        row("a header condition refuses a missing header", engines(allow(token)), request(), NO_MATCH),
        row("notValues of a header in a DENY policy refuses a missing header", engines(deny(notProd)), request(), deniedBy(notProd)),
        row("notValues of a header in a DENY policy lets the listed value through", engines(deny(notProd)),
            request().header("x-env", "prod"), ALLOWED_WITHOUT_POLICY));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("table")
  void decidesAsIstioDoes(String sentence, AuthorizationEngine engine, Requests request, AuthzDecision expected) {
    assertThat(engine.evaluate(request.build())).as(sentence + ": " + request).isEqualTo(expected);
  }
}
