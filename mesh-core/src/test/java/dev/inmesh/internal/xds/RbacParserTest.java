package dev.inmesh.internal.xds;

import static dev.inmesh.internal.security.authz.Requests.RATINGS;
import static dev.inmesh.internal.security.authz.Requests.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.JsonFormat;
import dev.inmesh.internal.security.authz.AuthorizationEngine;
import dev.inmesh.internal.security.authz.AuthzDecision;
import dev.inmesh.internal.security.authz.RbacEngine;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.Int32Range;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** RBAC filter configs in the shapes Istio's builder emits (istio-samples/authz-builder-oracle), hand-built. */
class RbacParserTest {
  private static final String LISTENER = "inbound|9080||";

  // --- proto builders in Istio's shapes ---

  private static StringMatcher exact(String value) {
    return StringMatcher.newBuilder().setExact(value).build();
  }

  private static StringMatcher prefix(String value) {
    return StringMatcher.newBuilder().setPrefix(value).build();
  }

  private static StringMatcher regex(String value) {
    return StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(value)).build();
  }

  private static Principal authenticated(StringMatcher name) {
    return Principal.newBuilder().setAuthenticated(Principal.Authenticated.newBuilder().setPrincipalName(name)).build();
  }

  private static Principal orIds(Principal... ids) {
    return Principal.newBuilder().setOrIds(Principal.Set.newBuilder().addAllIds(List.of(ids))).build();
  }

  private static Principal andIds(Principal... ids) {
    return Principal.newBuilder().setAndIds(Principal.Set.newBuilder().addAllIds(List.of(ids))).build();
  }

  private static Principal notId(Principal id) {
    return Principal.newBuilder().setNotId(id).build();
  }

  private static Principal anyId() {
    return Principal.newBuilder().setAny(true).build();
  }

  private static Permission orRules(Permission... rules) {
    return Permission.newBuilder().setOrRules(Permission.Set.newBuilder().addAllRules(List.of(rules))).build();
  }

  private static Permission andRules(Permission... rules) {
    return Permission.newBuilder().setAndRules(Permission.Set.newBuilder().addAllRules(List.of(rules))).build();
  }

  private static Permission notRule(Permission rule) {
    return Permission.newBuilder().setNotRule(rule).build();
  }

  private static Permission anyRule() {
    return Permission.newBuilder().setAny(true).build();
  }

  private static Permission method(String method) {
    return Permission.newBuilder().setHeader(HeaderMatcher.newBuilder().setName(":method").setStringMatch(exact(method))).build();
  }

  private static Permission urlPath(StringMatcher path) {
    return Permission.newBuilder().setUrlPath(PathMatcher.newBuilder().setPath(path)).build();
  }

  private static CidrRange cidr(String address, int prefixLength) {
    return CidrRange.newBuilder().setAddressPrefix(address).setPrefixLen(UInt32Value.of(prefixLength)).build();
  }

  private static Policy policy(Permission permission, Principal principal) {
    return Policy.newBuilder().addPermissions(permission).addPrincipals(principal).build();
  }

  private static RBAC filter(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action action, String name, Policy policy) {
    return RBAC.newBuilder()
        .setRules(io.envoyproxy.envoy.config.rbac.v3.RBAC.newBuilder().setAction(action).putPolicies(name, policy))
        .setShadowRulesStatPrefix("istio_dry_run_allow_")
        .build();
  }

  private static RBAC allow(String name, Policy policy) {
    return filter(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW, name, policy);
  }

  private static RBAC deny(String name, Policy policy) {
    return filter(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY, name, policy);
  }

  private static AuthorizationEngine parse(RBAC... filters) throws XdsParseException {
    return Rbac.parse(LISTENER, List.of(filters));
  }

  private static XdsParseException refusal(Policy policy) {
    try {
      parse(allow("p", policy));
    } catch (XdsParseException e) {
      return e;
    }
    throw new AssertionError("expected the parser to refuse " + policy);
  }

  // --- what parses, and how it then decides ---

  @Test
  void aDenyFilterAndAnAllowFilterComposeAsIstioDoes() throws Exception {
    // deny-and-allow: the DENY filter names one principal, the ALLOW filter a GET on any path.
    AuthorizationEngine engine = parse(
        deny("ns[foo]-policy[httpbin-deny]-rule[0]",
            policy(andRules(anyRule()), andIds(orIds(authenticated(exact(RATINGS)))))),
        allow("ns[foo]-policy[httpbin-allow]-rule[0]",
            policy(andRules(orRules(method("GET"))), andIds(anyId()))));

    assertThat(engine.evaluate(request().from(RATINGS).build()))
        .isEqualTo(new AuthzDecision.Denied("ns[foo]-policy[httpbin-deny]-rule[0]"));
    assertThat(engine.evaluate(request().build()))
        .isEqualTo(new AuthzDecision.Allowed(Optional.of("ns[foo]-policy[httpbin-allow]-rule[0]")));
    assertThat(engine.evaluate(request().method("POST").build()).isAllowed()).isFalse();
  }

  @Test
  void anAllowPolicyWithANilRuleAllowsNothing() throws Exception {
    // allow-nil-rule: Istio writes "match nothing" as not(any) on both sides.
    AuthorizationEngine engine = parse(allow("ns[foo]-policy[allow-none]-rule[0]", policy(notRule(anyRule()), notId(anyId()))));

    assertThat(engine.evaluate(request().build()).isAllowed()).isFalse();
  }

  @Test
  void anAllowPolicyWithAnEmptyRuleAllowsEverything() throws Exception {
    AuthorizationEngine engine = parse(allow("ns[foo]-policy[allow-all]-rule[0]", policy(andRules(anyRule()), andIds(anyId()))));

    assertThat(engine.evaluate(request().plaintext().method("DELETE").build()))
        .isEqualTo(new AuthzDecision.Allowed(Optional.of("ns[foo]-policy[allow-all]-rule[0]")));
  }

  @Test
  void sourcesOperationsAndConditionsOfASinglePolicyAllHold() throws Exception {
    // single-policy without requestPrincipals: namespaces, ipBlocks, remoteIpBlocks, hosts, methods,
    // paths, ports, destination.ip and request.headers.
    Permission to = andRules(
        orRules(Permission.newBuilder().setHeader(HeaderMatcher.newBuilder().setName(":authority")
            .setStringMatch(exact("reviews.shop:9080").toBuilder().setIgnoreCase(true))).build()),
        orRules(method("GET")),
        orRules(urlPath(prefix("/reviews/"))),
        orRules(Permission.newBuilder().setDestinationPort(9080).build()),
        orRules(Permission.newBuilder().setDestinationIp(cidr("10.0.0.0", 24)).build()));
    Principal from = andIds(
        orIds(authenticated(regex(".*/ns/shop/.*"))),
        orIds(Principal.newBuilder().setRemoteIp(cidr("10.0.0.0", 16)).build()),
        orIds(Principal.newBuilder().setDirectRemoteIp(cidr("10.0.0.7", 32)).build()),
        orIds(Principal.newBuilder().setHeader(HeaderMatcher.newBuilder().setName("X-header").setStringMatch(prefix("header-"))).build()));
    AuthorizationEngine engine = parse(allow("ns[shop]-policy[reviews]-rule[0]", policy(to, from)));

    var good = request().host("Reviews.Shop:9080").header("x-header", "header-1");
    assertThat(engine.evaluate(good.build()).isAllowed()).isTrue();
    assertThat(engine.evaluate(request().host("Reviews.Shop:9080").build()).isAllowed()).isFalse();
    assertThat(engine.evaluate(good.sourceIp("10.0.0.8").build()).isAllowed()).isFalse();
  }

  @Test
  void istioPathTemplatesBecomeUriTemplates() throws Exception {
    Permission template = Permission.newBuilder().setUriTemplate(TypedExtensionConfig.newBuilder()
        .setName("uri-template")
        .setTypedConfig(com.google.protobuf.Any.pack(UriTemplateMatchConfig.newBuilder().setPathTemplate("/reviews/*/stars").build())))
        .build();
    AuthorizationEngine engine = parse(allow("p", policy(andRules(orRules(template)), andIds(anyId()))));

    assertThat(engine.evaluate(request().path("/reviews/7/stars?x=1").build()).isAllowed()).isTrue();
    assertThat(engine.evaluate(request().path("/reviews/7/8/stars").build()).isAllowed()).isFalse();
  }

  @Test
  void aPortRangeAndTheServerNameAreEvaluated() throws Exception {
    Permission to = andRules(
        Permission.newBuilder().setDestinationPortRange(Int32Range.newBuilder().setStart(9000).setEnd(9100)).build(),
        Permission.newBuilder().setRequestedServerName(StringMatcher.newBuilder().setSuffix(".shop")).build());
    AuthorizationEngine engine = parse(allow("p", policy(to, anyId())));

    assertThat(engine.evaluate(request().port(9080).sni("reviews.shop").build()).isAllowed()).isTrue();
    assertThat(engine.evaluate(request().port(9100).sni("reviews.shop").build()).isAllowed()).isFalse();
    assertThat(engine.evaluate(request().port(9080).build()).isAllowed()).isFalse();
  }

  @Test
  void presentMatchFalseMeansTheHeaderMustBeAbsent() throws Exception {
    Principal noDebug = Principal.newBuilder().setHeader(HeaderMatcher.newBuilder().setName("x-debug").setPresentMatch(false)).build();
    AuthorizationEngine engine = parse(allow("p", policy(anyRule(), noDebug)));

    assertThat(engine.evaluate(request().build()).isAllowed()).isTrue();
    assertThat(engine.evaluate(request().header("x-debug", "1").build()).isAllowed()).isFalse();
  }

  @Test
  void policiesAreTriedInNameOrderAsInEnvoy() throws Exception {
    RBAC filter = RBAC.newBuilder().setRules(io.envoyproxy.envoy.config.rbac.v3.RBAC.newBuilder()
        .putPolicies("zeta", policy(anyRule(), anyId()))
        .putPolicies("alpha", policy(anyRule(), anyId()))).build();

    assertThat(parse(filter).evaluate(request().build())).isEqualTo(new AuthzDecision.Allowed(Optional.of("alpha")));
  }

  @Test
  void dryRunRulesBecomeShadowEnginesAndAreNotEnforced() throws Exception {
    // dry-run-mix: /another is enforced, /allow only dry-run.
    RBAC filter = RBAC.newBuilder()
        .setRules(io.envoyproxy.envoy.config.rbac.v3.RBAC.newBuilder()
            .putPolicies("ns[foo]-policy[httpbin-2]-rule[0]", policy(andRules(orRules(urlPath(exact("/another")))), andIds(anyId()))))
        .setShadowRules(io.envoyproxy.envoy.config.rbac.v3.RBAC.newBuilder()
            .putPolicies("ns[foo]-policy[httpbin-1]-rule[0]", policy(andRules(orRules(urlPath(exact("/allow")))), andIds(anyId()))))
        .setShadowRulesStatPrefix("istio_dry_run_allow_")
        .build();
    AuthorizationEngine engine = parse(filter);

    assertThat(engine.evaluate(request().path("/allow").build()).isAllowed()).isFalse();
    assertThat(engine.evaluateShadow(request().path("/allow").build()))
        .contains(new AuthzDecision.Allowed(Optional.of("ns[foo]-policy[httpbin-1]-rule[0]")));
  }

  @Test
  void anAuditPolicyBecomesALogEngine() throws Exception {
    AuthorizationEngine engine = parse(filter(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.LOG,
        "ns[foo]-policy[audit-all]-rule[0]", policy(andRules(anyRule()), andIds(anyId()))));

    assertThat(engine.engines()).extracting(RbacEngine::action).containsExactly(RbacEngine.Action.LOG);
    assertThat(engine.evaluate(request().build())).isEqualTo(new AuthzDecision.Allowed(Optional.empty()));
    assertThat(engine.auditPolicy(request().build())).contains("ns[foo]-policy[audit-all]-rule[0]");
  }

  @Test
  void noFiltersMeanNoPolicies() throws Exception {
    assertThat(parse()).isEqualTo(AuthorizationEngine.EMPTY);
  }

  // --- what the parser refuses, and the field it names ---

  @SuppressWarnings("deprecation") // Istio still emits the deprecated metadata field
  @Test
  void requestPrincipalsMatchTheClaimsOfTheVerifiedTokenOnly() throws Exception {
    Principal iss = jwtClaim("iss", io.envoyproxy.envoy.type.matcher.v3.ValueMatcher.newBuilder()
        .setStringMatch(exact("https://issuer")).build());
    Principal sub = jwtClaim("sub", io.envoyproxy.envoy.type.matcher.v3.ValueMatcher.newBuilder()
        .setStringMatch(StringMatcher.newBuilder().setPrefix("al")).build());
    AuthorizationEngine engine = parse(allow("p", policy(anyRule(), andIds(iss, sub))));

    assertThat(engine.evaluate(request().jwt(java.util.Map.of("iss", "https://issuer", "sub", "alice")).build()).isAllowed())
        .isTrue();
    assertThat(engine.evaluate(request().jwt(java.util.Map.of("iss", "https://other", "sub", "alice")).build()).isAllowed())
        .isFalse();
    assertThat(engine.evaluate(request().build()).isAllowed()).as("no token").isFalse();
  }

  @Test
  void listClaimsAndNestedClaimsMatchAsEnvoysValueMatchersDo() throws Exception {
    var value = io.envoyproxy.envoy.type.matcher.v3.ValueMatcher.newBuilder().setStringMatch(exact("admins")).build();
    var listOrString = io.envoyproxy.envoy.type.matcher.v3.ValueMatcher.newBuilder().setOrMatch(
        io.envoyproxy.envoy.type.matcher.v3.OrMatcher.newBuilder()
            .addValueMatchers(io.envoyproxy.envoy.type.matcher.v3.ValueMatcher.newBuilder().setListMatch(
                io.envoyproxy.envoy.type.matcher.v3.ListMatcher.newBuilder().setOneOf(value)))
            .addValueMatchers(value)).build();
    Principal groups = Principal.newBuilder().setMetadata(MetadataMatcher.newBuilder()
        .setFilter("envoy.filters.http.jwt_authn")
        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey("payload"))
        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey("org"))
        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey("groups"))
        .setValue(listOrString)).build();
    AuthorizationEngine engine = parse(allow("p", policy(anyRule(), groups)));

    assertThat(engine.evaluate(request().jwt(java.util.Map.of("org", java.util.Map.of("groups", List.of("dev", "admins"))))
        .build()).isAllowed()).isTrue();
    assertThat(engine.evaluate(request().jwt(java.util.Map.of("org", java.util.Map.of("groups", "admins"))).build())
        .isAllowed()).isTrue();
    assertThat(engine.evaluate(request().jwt(java.util.Map.of("org", java.util.Map.of("groups", List.of("dev")))).build())
        .isAllowed()).isFalse();
    assertThat(engine.evaluate(request().jwt(java.util.Map.of("groups", List.of("admins"))).build()).isAllowed())
        .as("the claim at another path").isFalse();
  }

  @Test
  void anInvertedClaimMatcherStillNeedsAToken() throws Exception {
    Principal notAlice = Principal.newBuilder().setNotId(jwtClaim("sub",
        io.envoyproxy.envoy.type.matcher.v3.ValueMatcher.newBuilder().setStringMatch(exact("alice")).build())).build();
    AuthorizationEngine deny = parse(deny("p", policy(anyRule(), notAlice)));
    assertThat(deny.evaluate(request().jwt(java.util.Map.of("sub", "bob")).build()).isAllowed()).isFalse();
    assertThat(deny.evaluate(request().jwt(java.util.Map.of("sub", "alice")).build()).isAllowed()).isTrue();
    assertThat(deny.evaluate(request().build()).isAllowed()).as("notRequestPrincipals denies a request without token")
        .isFalse();
  }

  private static Principal jwtClaim(String claim, io.envoyproxy.envoy.type.matcher.v3.ValueMatcher value) {
    return Principal.newBuilder().setMetadata(MetadataMatcher.newBuilder()
        .setFilter("envoy.filters.http.jwt_authn")
        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey("payload"))
        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey(claim))
        .setValue(value)).build();
  }

  @SuppressWarnings("deprecation") // Istio still emits the deprecated metadata field
  @Test
  void refusesMetadataOfOtherFilters() {
    Permission metadata = Permission.newBuilder().setMetadata(MetadataMatcher.newBuilder().setFilter("envoy.filters.a.b")).build();

    XdsParseException e = refusal(policy(andRules(anyRule(), notRule(metadata)), anyId()));
    assertThat(e.field()).isEqualTo("rbac[0].rules.policies[p].permissions[0].and_rules.rules[1].not_rule.metadata");
    assertThat(e).hasMessageContaining("'envoy.filters.a.b'");
  }

  @Test
  void refusesCelConditions() {
    Policy withCondition = policy(anyRule(), anyId()).toBuilder()
        .setCondition(com.google.api.expr.v1alpha1.Expr.newBuilder().setId(1)).build();

    assertThat(refusal(withCondition).field()).isEqualTo("rbac[0].rules.policies[p].condition");
  }

  @Test
  void refusesTheUnifiedMatcherApi() {
    RBAC filter = RBAC.newBuilder().setMatcher(com.github.xds.type.matcher.v3.Matcher.getDefaultInstance()).build();

    assertThatThrownBy(() -> parse(filter)).isInstanceOf(XdsParseException.class)
        .extracting(e -> ((XdsParseException) e).field()).isEqualTo("rbac[0].matcher");
  }

  @Test
  void refusesAuditLoggers() {
    RBAC filter = RBAC.newBuilder().setRules(io.envoyproxy.envoy.config.rbac.v3.RBAC.newBuilder()
        .setAuditLoggingOptions(io.envoyproxy.envoy.config.rbac.v3.RBAC.AuditLoggingOptions.getDefaultInstance())).build();

    assertThatThrownBy(() -> parse(filter)).isInstanceOf(XdsParseException.class)
        .extracting(e -> ((XdsParseException) e).field()).isEqualTo("rbac[0].rules.audit_logging_options");
  }

  @Test
  void refusesHeaderRangesAndUnknownPseudoHeaders() {
    Principal range = Principal.newBuilder().setHeader(HeaderMatcher.newBuilder().setName("x-n")
        .setRangeMatch(io.envoyproxy.envoy.type.v3.Int64Range.newBuilder().setStart(1).setEnd(5))).build();
    Permission scheme = Permission.newBuilder().setHeader(HeaderMatcher.newBuilder().setName(":scheme").setStringMatch(exact("https"))).build();

    assertThat(refusal(policy(anyRule(), range)).field()).isEqualTo("rbac[0].rules.policies[p].principals[0].header.range_match");
    XdsParseException e = refusal(policy(scheme, anyId()));
    assertThat(e.field()).isEqualTo("rbac[0].rules.policies[p].permissions[0].header.name");
    assertThat(e).hasMessageContaining(":scheme");
  }

  @Test
  void refusesFilterStateAndCustomPrincipals() {
    Principal filterState = Principal.newBuilder().setFilterState(
        io.envoyproxy.envoy.type.matcher.v3.FilterStateMatcher.newBuilder().setKey("k")).build();
    Principal custom = Principal.newBuilder().setCustom(TypedExtensionConfig.newBuilder().setName("mtls")).build();

    assertThat(refusal(policy(anyRule(), filterState)).field()).endsWith("principals[0].filter_state");
    assertThat(refusal(policy(anyRule(), custom)).field()).endsWith("principals[0].custom");
  }

  @Test
  void refusesBadRegexesAddressesAndTemplates() {
    Principal badRegex = authenticated(regex("(unclosed"));
    Principal hostName = Principal.newBuilder().setDirectRemoteIp(cidr("localhost", 8)).build();
    Principal longPrefix = Principal.newBuilder().setRemoteIp(cidr("10.0.0.0", 40)).build();
    Permission badTemplate = Permission.newBuilder().setUriTemplate(TypedExtensionConfig.newBuilder()
        .setTypedConfig(com.google.protobuf.Any.pack(UriTemplateMatchConfig.newBuilder().setPathTemplate("/**/a/*").build()))).build();
    Permission otherExtension = Permission.newBuilder().setUriTemplate(TypedExtensionConfig.newBuilder()
        .setTypedConfig(com.google.protobuf.Any.pack(UInt32Value.of(1)))).build();

    assertThat(refusal(policy(anyRule(), badRegex)).field()).endsWith("authenticated.principal_name.safe_regex.regex");
    assertThat(refusal(policy(anyRule(), hostName))).hasMessageContaining("not an IP address: 'localhost'");
    assertThat(refusal(policy(anyRule(), longPrefix))).hasMessageContaining("got 40");
    assertThat(refusal(policy(badTemplate, anyId())).field()).endsWith("uri_template.typed_config.path_template");
    assertThat(refusal(policy(otherExtension, anyId())).field()).endsWith("uri_template.typed_config");
  }

  @Test
  void refusesEmptySetsAndUnsetRules() {
    Permission emptyAnd = Permission.newBuilder().setAndRules(Permission.Set.getDefaultInstance()).build();

    assertThat(refusal(policy(emptyAnd, anyId())).field()).endsWith("permissions[0].and_rules.rules");
    assertThat(refusal(policy(Permission.getDefaultInstance(), anyId())).field()).endsWith("permissions[0]");
    assertThat(refusal(Policy.newBuilder().addPermissions(anyRule()).build()).field()).isEqualTo("rbac[0].rules.policies[p]");
    assertThat(refusal(policy(anyRule(), authenticated(StringMatcher.getDefaultInstance()))).field())
        .endsWith("authenticated.principal_name");
  }

  // --- every RBAC filter Istio's builder emits, read from the oracle when it is there ---

  private static Optional<Path> oracle() {
    for (String candidate : List.of("../../shared", "../shared")) {
      Path dir = Path.of(candidate, "istio-samples", "authz-builder-oracle", "http");
      if (Files.isDirectory(dir)) {
        return Optional.of(dir);
      }
    }
    return Optional.empty();
  }

  static Stream<Path> oracleOutputs() throws IOException {
    Optional<Path> dir = oracle();
    if (dir.isEmpty()) {
      return Stream.of(Path.of("absent"));
    }
    // The extended-* files repeat the others byte for byte (PAIRS.md).
    try (Stream<Path> files = Files.list(dir.get())) {
      return files.filter(p -> p.getFileName().toString().matches("(?!extended-).*-out\\d*\\.yaml")).sorted().toList().stream();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("oracleOutputs")
  void everyRbacFilterIstioEmitsParsesOrIsRefusedByField(Path file) throws Exception {
    Assumptions.assumeTrue(Files.exists(file), "the Istio oracle under ../shared is not present");
    JsonNode typedConfig = new YAMLMapper().readTree(file.toFile()).get("typedConfig");
    Assumptions.assumeTrue(typedConfig.get("@type").asText().endsWith("/" + RBAC.getDescriptor().getFullName()),
        "not an RBAC filter (CUSTOM's ext_authz is out of scope)");
    String json = new ObjectMapper().writeValueAsString(typedConfig);
    com.google.protobuf.Any any = com.google.protobuf.Any.newBuilder().build();
    JsonFormat.TypeRegistry types = JsonFormat.TypeRegistry.newBuilder()
        .add(RBAC.getDescriptor()).add(UriTemplateMatchConfig.getDescriptor()).build();
    com.google.protobuf.Any.Builder builder = any.toBuilder();
    JsonFormat.parser().usingTypeRegistry(types).merge(json, builder);
    RBAC filter = builder.build().unpack(RBAC.class);

    boolean otherMetadata = java.util.regex.Pattern.compile("\"filter\":\"(?!envoy\\.filters\\.http\\.jwt_authn\")")
        .matcher(json).find();
    if (otherMetadata) {
      // experimental.* conditions read other filters' metadata; JWT claims are read from the verified token
      assertThatThrownBy(() -> parse(filter)).isInstanceOf(XdsParseException.class)
          .extracting(e -> ((XdsParseException) e).field()).asString().endsWith(".metadata");
    } else {
      AuthorizationEngine engine = parse(filter);
      assertThat(engine.engines().size() + engine.shadowEngines().size()).isPositive();
      engine.evaluate(request().build());
      engine.evaluateShadow(request().plaintext().build());
      engine.evaluate(request().jwt(java.util.Map.of("iss", "https://example.com", "sub", "alice")).build());
    }
  }
}
