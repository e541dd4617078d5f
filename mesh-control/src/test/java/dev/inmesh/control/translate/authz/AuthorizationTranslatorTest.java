package dev.inmesh.control.translate.authz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.translate.authz.AuthorizationConfig.DataPlane;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class AuthorizationTranslatorTest {
  private static final AuthorizationTranslator TRANSLATOR = AuthorizationTranslator.of(AuthorizationConfig.defaults());
  private static final AuthorizationTranslator FOR_GRPC = AuthorizationTranslator.of(AuthorizationConfig.of(
      AuthorizationConfig.DEFAULT_TRUST_DOMAIN, List.of(), DataPlane.PROXYLESS_GRPC));
  private static final AuthorizationTranslator FOR_ENVOY = AuthorizationTranslator.of(AuthorizationConfig.of(
      AuthorizationConfig.DEFAULT_TRUST_DOMAIN, List.of(), DataPlane.ENVOY));

  private static List<ConfigResource> policies(String yaml) {
    ParseResult parsed = ConfigParser.defaults().parse("shop.yaml", yaml);
    assertThat(parsed.errors()).isEmpty();
    return parsed.resources();
  }

  private static String policy(String name, String spec) {
    return """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: %s
          namespace: shop
        spec:
        """.formatted(name) + spec.indent(2) + "---\n";
  }

  private static AuthorizationFilters translate(String yaml) {
    return TRANSLATOR.translate(policies(yaml));
  }

  private static Policy onlyAllowPolicy(AuthorizationFilters filters) {
    assertThat(filters.allow()).isPresent();
    Map<String, Policy> policies = filters.allow().get().getRules().getPoliciesMap();
    assertThat(policies).hasSize(1);
    return policies.values().iterator().next();
  }

  /** The one and_ids of a one-source rule, and the matchers of its first clause. */
  private static List<Principal> sourceClauses(Policy policy) {
    assertThat(policy.getPrincipalsList()).hasSize(1);
    return policy.getPrincipals(0).getAndIds().getIdsList();
  }

  private static List<Permission> operationClauses(Policy policy) {
    assertThat(policy.getPermissionsList()).hasSize(1);
    return policy.getPermissions(0).getAndRules().getRulesList();
  }

  private static List<StringMatcher> principalNames(Principal orIds) {
    return orIds.getOrIds().getIdsList().stream().map(p -> p.getAuthenticated().getPrincipalName()).toList();
  }

  private static StringMatcher exact(String value) {
    return StringMatcher.newBuilder().setExact(value).build();
  }

  private static StringMatcher prefix(String value) {
    return StringMatcher.newBuilder().setPrefix(value).build();
  }

  private static StringMatcher regex(String value) {
    return RbacMatchers.regex(value);
  }

  @Nested
  class Actions {
    @Test
    void namesPoliciesAfterNamespacePolicyAndRuleIndex() {
      AuthorizationFilters filters = translate(policy("reviews", """
          rules:
          - to:
            - operation: {methods: ["GET"]}
          - to:
            - operation: {methods: ["POST"]}
          """));
      assertThat(filters.allow().get().getRules().getPoliciesMap())
          .containsOnlyKeys("ns[shop]-policy[reviews]-rule[0]", "ns[shop]-policy[reviews]-rule[1]");
    }

    @Test
    void putsDenyBeforeAllowInSeparateFilters() {
      AuthorizationFilters filters = translate(policy("deny-post", """
          action: DENY
          rules:
          - to:
            - operation: {methods: ["POST"]}
          """) + policy("allow-get", """
          rules:
          - to:
            - operation: {methods: ["GET"]}
          """));
      assertThat(filters.deny().get().getRules().getAction()).isEqualTo(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY);
      assertThat(filters.deny().get().getRules().getPoliciesMap()).containsOnlyKeys("ns[shop]-policy[deny-post]-rule[0]");
      assertThat(filters.allow().get().getRules().getAction()).isEqualTo(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW);
      assertThat(filters.allow().get().getRules().getPoliciesMap()).containsOnlyKeys("ns[shop]-policy[allow-get]-rule[0]");
      assertThat(filters.httpFilters()).extracting(HttpFilter::getName)
          .containsExactly(AuthorizationFilters.DENY_FILTER_NAME, AuthorizationFilters.ALLOW_FILTER_NAME);
    }

    @Test
    void makesNoAllowFilterWhenThereAreOnlyDenyPolicies() {
      AuthorizationFilters filters = translate(policy("deny-post", """
          action: DENY
          rules:
          - to:
            - operation: {methods: ["POST"]}
          """));
      assertThat(filters.allow()).isEmpty();
      assertThat(filters.httpFilters()).extracting(HttpFilter::getName).containsExactly(AuthorizationFilters.DENY_FILTER_NAME);
    }

    @Test
    void makesNoFiltersForNoPolicies() {
      AuthorizationFilters filters = TRANSLATOR.translate(List.of());
      assertThat(filters.httpFilters()).isEmpty();
      assertThat(filters.warnings()).isEmpty();
    }

    @Test
    void allowsNothingWhenAnAllowPolicyHasNoRules() {
      Policy policy = onlyAllowPolicy(translate(policy("allow-nothing", "{}")));
      assertThat(policy.getPermissionsList()).containsExactly(
          Permission.newBuilder().setNotRule(Permission.newBuilder().setAny(true)).build());
      assertThat(policy.getPrincipalsList()).containsExactly(
          Principal.newBuilder().setNotId(Principal.newBuilder().setAny(true)).build());
    }

    @Test
    void deniesEverythingForADenyPolicyWithAnEmptyRule() {
      AuthorizationFilters filters = translate(policy("deny-all", """
          action: DENY
          rules:
          - {}
          """));
      Policy policy = filters.deny().get().getRules().getPoliciesOrThrow("ns[shop]-policy[deny-all]-rule[0]");
      assertThat(policy.getPermissionsList()).containsExactly(Permission.newBuilder()
          .setAndRules(Permission.Set.newBuilder().addRules(Permission.newBuilder().setAny(true))).build());
      assertThat(policy.getPrincipalsList()).containsExactly(Principal.newBuilder()
          .setAndIds(Principal.Set.newBuilder().addIds(Principal.newBuilder().setAny(true))).build());
    }

    @Test
    void putsAuditPoliciesInALogFilterThatRunsFirst() {
      AuthorizationFilters filters = translate(policy("audit", """
          action: AUDIT
          rules:
          - {}
          """) + policy("deny-all", """
          action: DENY
          rules:
          - {}
          """));
      assertThat(filters.audit().get().getRules().getAction()).isEqualTo(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.LOG);
      assertThat(filters.httpFilters()).extracting(HttpFilter::getName)
          .containsExactly(AuthorizationFilters.AUDIT_FILTER_NAME, AuthorizationFilters.DENY_FILTER_NAME);
    }

    @Test
    void reportsAuditAndDryRunOnlyForProxylessGrpcWhichIgnoresThem() {
      String yaml = policy("audit", """
          action: AUDIT
          rules:
          - {}
          """) + policy("shadow", """
          action: DENY
          rules:
          - {}
          """).replace("name: shadow\n  namespace: shop", "name: shadow\n  namespace: shop\n  annotations:\n"
          + "    istio.io/dry-run: \"true\"");
      assertThat(TRANSLATOR.translate(policies(yaml)).warnings()).isEmpty();
      assertThat(FOR_GRPC.translate(policies(yaml)).warnings()).extracting(Problem::resource, Problem::field)
          .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("AuthorizationPolicy/shop/audit", "spec.action"),
              org.assertj.core.groups.Tuple.tuple("AuthorizationPolicy/shop/shadow",
                  "metadata.annotations.istio.io/dry-run"));
    }

    @Test
    void deniesWhatACustomPolicyMatchesForInmeshHasNoExternalAuthorization() {
      AuthorizationFilters filters = translate(policy("ext", """
          action: CUSTOM
          provider: {name: opa}
          rules:
          - to:
            - operation:
                paths: ["/admin/*"]
          """) + policy("allow-all", """
          rules:
          - {}
          """));
      Policy deny = filters.deny().get().getRules()
          .getPoliciesOrThrow("istio-ext-authz-opa-ns[shop]-policy[ext]-rule[0]-deny-due-to-bad-CUSTOM-action");
      assertThat(operationClauses(deny).get(0).getOrRules().getRules(0).getUrlPath().getPath()).isEqualTo(prefix("/admin/"));
      assertThat(filters.deny().get().getRules().getAction()).isEqualTo(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY);
      assertThat(filters.allow().get().getRules().getPoliciesMap()).containsOnlyKeys("ns[shop]-policy[allow-all]-rule[0]");
      assertThat(filters.warnings()).extracting(Problem::resource, Problem::field)
          .containsExactly(org.assertj.core.groups.Tuple.tuple("AuthorizationPolicy/shop/ext", "spec.action"));
      assertThat(filters.warnings().get(0).message()).contains("enforced fail-closed", "opa", "denied");
    }

    @Test
    void makesADryRunCustomPolicyShadowDenyRules() {
      AuthorizationFilters filters = translate(policy("ext", """
          action: CUSTOM
          provider: {name: opa}
          rules:
          - {}
          """).replace("namespace: shop", "namespace: shop\n  annotations:\n    istio.io/dry-run: \"true\""));
      assertThat(filters.deny().get().hasRules()).isFalse();
      assertThat(filters.deny().get().getShadowRules().getPoliciesMap())
          .containsOnlyKeys("istio-ext-authz-opa-ns[shop]-policy[ext]-rule[0]-deny-due-to-bad-CUSTOM-action");
    }

    @Test
    void reportsTargetRefPoliciesAsNotEnforced() {
      List<ConfigResource> policies = policies(policy("waypoint", """
          targetRefs:
          - kind: Service
            name: reviews
          rules:
          - {}
          """));
      assertThat(AuthorizationTranslator.appliesTo(policies.get(0), "shop", Map.of(), null)).isFalse();
      assertThat(AuthorizationTranslator.notEnforced(policies)).extracting(Problem::field).containsExactly("spec.targetRefs");
      AuthorizationFilters filters = TRANSLATOR.translate(policies);
      assertThat(filters.httpFilters()).isEmpty();
      assertThat(filters.warnings()).extracting(Problem::field).containsExactly("spec.targetRefs");
    }

    @Test
    void makesDryRunPoliciesShadowRulesThatEnforceNothing() {
      AuthorizationFilters filters = translate("""
          apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata:
            name: trial
            namespace: shop
            annotations:
              istio.io/dry-run: "true"
          spec:
            action: DENY
            rules:
            - to:
              - operation: {paths: ["/admin"]}
          """);
      RBAC deny = filters.deny().get();
      assertThat(deny.hasRules()).isFalse();
      assertThat(deny.getShadowRules().getPoliciesMap()).containsOnlyKeys("ns[shop]-policy[trial]-rule[0]");
      assertThat(deny.getShadowRulesStatPrefix()).isEqualTo("istio_dry_run_deny_");
    }
  }

  @Nested
  class Sources {
    @Test
    void matchesPrincipalsWithIstioWildcardsOnTheSpiffeUri() {
      Policy policy = onlyAllowPolicy(translate(policy("p", """
          rules:
          - from:
            - source:
                principals: ["cluster.local/ns/shop/sa/web", "cluster.local/ns/shop/*", "*/sa/admin", "*"]
          """)));
      assertThat(principalNames(sourceClauses(policy).get(0))).containsExactly(
          exact("spiffe://cluster.local/ns/shop/sa/web"),
          prefix("spiffe://cluster.local/ns/shop/"),
          regex("spiffe://.*/sa/admin"),
          regex(".+"));
    }

    @Test
    void matchesNamespacesAsTheNsSegmentOfThePrincipal() {
      Policy policy = onlyAllowPolicy(translate(policy("p", """
          rules:
          - from:
            - source:
                namespaces: ["shop", "team-*", "*-prod", "a.b"]
          """)));
      assertThat(principalNames(sourceClauses(policy).get(0))).containsExactly(
          regex(".*/ns/shop/.*"), regex(".*/ns/team-.*/.*"), regex(".*/ns/.*-prod/.*"), regex(".*/ns/a\\.b/.*"));
    }

    @Test
    void matchesServiceAccountsInTheirOrThePolicysNamespace() {
      Policy policy = onlyAllowPolicy(translate(policy("p", """
          rules:
          - from:
            - source:
                serviceAccounts: ["billing/payer", "web"]
          """)));
      assertThat(principalNames(sourceClauses(policy).get(0))).containsExactly(
          regex("spiffe://.+/ns/billing/(.+/|)sa/payer(/.+)?"), regex("spiffe://.+/ns/shop/(.+/|)sa/web(/.+)?"));
    }

    @Test
    void matchesIpBlocksOnTheDirectPeerAndRemoteIpBlocksOnTheOriginalClient() {
      Policy policy = onlyAllowPolicy(translate(policy("p", """
          rules:
          - from:
            - source:
                ipBlocks: ["10.0.0.0/8", "2001:db8::1"]
                remoteIpBlocks: ["192.168.1.7"]
          """)));
      List<Principal> clauses = sourceClauses(policy);
      assertThat(clauses.get(0).getOrIds().getIds(0).getRemoteIp().getAddressPrefix()).isEqualTo("192.168.1.7");
      assertThat(clauses.get(0).getOrIds().getIds(0).getRemoteIp().getPrefixLen().getValue()).isEqualTo(32);
      assertThat(clauses.get(1).getOrIds().getIdsList()).extracting(
              p -> p.getDirectRemoteIp().getAddressPrefix() + "/" + p.getDirectRemoteIp().getPrefixLen().getValue())
          .containsExactly("10.0.0.0/8", "2001:db8::1/128");
    }

    @Test
    void writesEveryNotFormAsANotOfAnOr() {
      Policy policy = onlyAllowPolicy(translate(policy("p", """
          rules:
          - from:
            - source:
                notPrincipals: ["cluster.local/ns/shop/sa/bot"]
                notNamespaces: ["test"]
                notIpBlocks: ["10.1.0.0/16"]
                notRemoteIpBlocks: ["10.2.0.0/16"]
          """)));
      List<Principal> clauses = sourceClauses(policy);
      assertThat(clauses).hasSize(4).allSatisfy(clause -> assertThat(clause.hasNotId()).isTrue());
      assertThat(principalNames(clauses.get(0).getNotId())).containsExactly(exact("spiffe://cluster.local/ns/shop/sa/bot"));
      assertThat(principalNames(clauses.get(1).getNotId())).containsExactly(regex(".*/ns/test/.*"));
      assertThat(clauses.get(2).getNotId().getOrIds().getIds(0).getRemoteIp().getAddressPrefix()).isEqualTo("10.2.0.0");
      assertThat(clauses.get(3).getNotId().getOrIds().getIds(0).getDirectRemoteIp().getAddressPrefix()).isEqualTo("10.1.0.0");
    }

    @Test
    void makesOnePrincipalPerSourceSoThatAnySourceMatches() {
      Policy policy = onlyAllowPolicy(translate(policy("p", """
          rules:
          - from:
            - source: {namespaces: ["a"]}
            - source: {namespaces: ["b"]}
          """)));
      assertThat(policy.getPrincipalsList()).hasSize(2);
    }

    @Test
    void matchesRequestPrincipalsOnJwtIssuerAndSubjectForEnvoy() {
      AuthorizationFilters filters = FOR_ENVOY.translate(policies(policy("p", """
          rules:
          - from:
            - source:
                requestPrincipals: ["https://issuer.example/alice"]
          """)));
      Principal jwt = sourceClauses(onlyAllowPolicy(filters)).get(0).getOrIds().getIds(0);
      assertThat(jwt.getAndIds().getIdsList()).extracting(p -> p.getMetadata().getPath(1).getKey() + "="
          + p.getMetadata().getValue().getStringMatch().getExact())
          .containsExactly("iss=https://issuer.example", "sub=alice");
      assertThat(filters.warnings()).isEmpty();
    }

    @Test
    void matchesTrustDomainsOnTheAuthorityOfTheSpiffeUri() {
      Policy policy = onlyAllowPolicy(translate(policy("p", """
          rules:
          - from:
            - source:
                trustDomains: ["example.org", "corp-*"]
          """)));
      assertThat(principalNames(sourceClauses(policy).get(0)))
          .containsExactly(prefix("spiffe://example.org/"), regex("spiffe://corp-[^/]*/.*"));
    }

    @Test
    void expandsLocalPrincipalsOverTrustDomainAliases() {
      AuthorizationTranslator translator = AuthorizationTranslator.of(AuthorizationConfig.of("new.org", List.of("old.org"),
          DataPlane.INMESH));
      AuthorizationFilters filters = translator.translate(policies(policy("p", """
          rules:
          - from:
            - source:
                principals: ["cluster.local/ns/shop/sa/web", "other.org/ns/shop/sa/web"]
          """)));
      assertThat(principalNames(sourceClauses(onlyAllowPolicy(filters)).get(0))).containsExactly(
          exact("spiffe://new.org/ns/shop/sa/web"), exact("spiffe://old.org/ns/shop/sa/web"),
          exact("spiffe://other.org/ns/shop/sa/web"));
    }
  }

  @Nested
  class Operations {
    @Test
    void matchesHostsOnAuthorityIgnoringCase() {
      Policy policy = onlyAllowPolicy(translate(policy("p", """
          rules:
          - to:
            - operation:
                hosts: ["shop.example.com", "*.example.com", "shop.*", "*"]
          """)));
      assertThat(operationClauses(policy).get(0).getOrRules().getRulesList()).extracting(Permission::getHeader)
          .allSatisfy(header -> assertThat(header.getName()).isEqualTo(":authority"))
          .extracting(h -> h.hasPresentMatch() ? "present" : h.getStringMatch().getIgnoreCase() + ":"
              + h.getStringMatch().getExact() + h.getStringMatch().getPrefix() + h.getStringMatch().getSuffix())
          .containsExactly("true:shop.example.com", "true:.example.com", "true:shop.", "present");
    }

    @Test
    void matchesMethodsPortsAndTheirNotForms() {
      Policy policy = onlyAllowPolicy(translate(policy("p", """
          rules:
          - to:
            - operation:
                methods: ["GET"]
                notMethods: ["DELETE"]
                ports: ["8080"]
                notPorts: ["9090"]
          """)));
      List<Permission> clauses = operationClauses(policy);
      assertThat(clauses.get(0).getOrRules().getRules(0).getHeader().getName()).isEqualTo(":method");
      assertThat(clauses.get(0).getOrRules().getRules(0).getHeader().getStringMatch()).isEqualTo(exact("GET"));
      assertThat(clauses.get(1).getNotRule().getOrRules().getRules(0).getHeader().getStringMatch()).isEqualTo(exact("DELETE"));
      assertThat(clauses.get(2).getOrRules().getRules(0).getDestinationPort()).isEqualTo(8080);
      assertThat(clauses.get(3).getNotRule().getOrRules().getRules(0).getDestinationPort()).isEqualTo(9090);
    }

    @Test
    void matchesPathsWithIstioWildcardsAndTemplates() {
      AuthorizationFilters filters = translate(policy("p", """
          rules:
          - to:
            - operation:
                paths: ["/health", "/api/*", "*.css", "*", "/users/{*}/cart", "/files/{**}"]
          """));
      List<Permission> paths = operationClauses(onlyAllowPolicy(filters)).get(0).getOrRules().getRulesList();
      assertThat(paths.subList(0, 4)).extracting(p -> p.getUrlPath().getPath()).containsExactly(
          exact("/health"), prefix("/api/"), StringMatcher.newBuilder().setSuffix(".css").build(), regex(".+"));
      assertThat(paths.subList(4, 6)).extracting(p -> unpackTemplate(p)).containsExactly("/users/*/cart", "/files/**");
      assertThat(filters.warnings()).isEmpty();
    }

    private String unpackTemplate(Permission permission) {
      try {
        return permission.getUriTemplate().getTypedConfig()
            .unpack(io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig.class).getPathTemplate();
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        throw new AssertionError(e);
      }
    }
  }

  @Nested
  class Conditions {
    @Test
    void addsPeerConditionsToEverySourceAndRequestConditionsToEveryOperation() {
      Policy policy = onlyAllowPolicy(translate(policy("p", """
          rules:
          - from:
            - source: {namespaces: ["a"]}
            - source: {namespaces: ["b"]}
            to:
            - operation: {methods: ["GET"]}
            - operation: {methods: ["HEAD"]}
            when:
            - key: request.headers[x-tenant]
              values: ["acme", "beta-*", "*"]
            - key: destination.port
              values: ["8080"]
          """)));
      assertThat(policy.getPrincipalsList()).hasSize(2).allSatisfy(p -> {
        Principal header = p.getAndIds().getIds(1);
        assertThat(header.getOrIds().getIdsList()).extracting(h -> h.getHeader().getName()).containsOnly("x-tenant");
        assertThat(header.getOrIds().getIds(2).getHeader().getPresentMatch()).isTrue();
      });
      assertThat(policy.getPermissionsList()).hasSize(2).allSatisfy(p ->
          assertThat(p.getAndRules().getRules(1).getOrRules().getRules(0).getDestinationPort()).isEqualTo(8080));
    }

    @Test
    void mapsIpNamespacePrincipalAndSniConditions() {
      Policy policy = onlyAllowPolicy(translate(policy("p", """
          rules:
          - when:
            - key: source.ip
              values: ["10.0.0.1"]
            - key: remote.ip
              notValues: ["10.9.0.0/16"]
            - key: source.namespace
              values: ["shop"]
            - key: source.principal
              values: ["cluster.local/ns/shop/sa/web"]
            - key: destination.ip
              values: ["10.0.0.2"]
            - key: connection.sni
              values: ["*.shop.local"]
          """)));
      List<Principal> peer = sourceClauses(policy);
      assertThat(peer.get(0).getOrIds().getIds(0).getDirectRemoteIp().getAddressPrefix()).isEqualTo("10.0.0.1");
      assertThat(peer.get(1).getNotId().getOrIds().getIds(0).getRemoteIp().getAddressPrefix()).isEqualTo("10.9.0.0");
      assertThat(principalNames(peer.get(2))).containsExactly(regex(".*/ns/shop/.*"));
      assertThat(principalNames(peer.get(3))).containsExactly(exact("spiffe://cluster.local/ns/shop/sa/web"));
      List<Permission> request = operationClauses(policy);
      assertThat(request.get(0).getOrRules().getRules(0).getDestinationIp().getAddressPrefix()).isEqualTo("10.0.0.2");
      assertThat(request.get(1).getOrRules().getRules(0).getRequestedServerName())
          .isEqualTo(StringMatcher.newBuilder().setSuffix(".shop.local").build());
    }

    @Test
    void matchesJwtClaimsInOneMetadataMatcherForEnvoy() {
      AuthorizationFilters filters = FOR_ENVOY.translate(policies(policy("p", """
          rules:
          - when:
            - key: request.auth.claims[groups][admin]
              values: ["yes"]
            - key: request.auth.audiences
              notValues: ["internal"]
          """)));
      List<Principal> peer = sourceClauses(onlyAllowPolicy(filters));
      assertThat(peer.get(0).getMetadata().getPathList()).extracting(s -> s.getKey())
          .containsExactly("payload", "groups", "admin");
      assertThat(peer.get(1).getNotId().getMetadata().getPath(1).getKey()).isEqualTo("aud");
      assertThat(filters.warnings()).isEmpty();
    }
  }

  /**
   * What the servers cannot evaluate (JWT claims on proxyless gRPC servers, other filters' metadata):
   * Istio's rule for it, a DENY matches more and an ALLOW less.
   */
  @Nested
  class FailClosed {
    private static final Principal ANY_PEER = Principal.newBuilder()
        .setAndIds(Principal.Set.newBuilder().addIds(Principal.newBuilder().setAny(true))).build();

    private static String jwtPolicy(String action) {
      return policy("jwt", """
          action: %s
          rules:
          - from:
            - source:
                requestPrincipals: ["https://issuer.example/*"]
                namespaces: ["shop"]
            - source:
                notRequestPrincipals: ["*"]
            to:
            - operation:
                paths: ["/admin/*"]
            when:
            - key: request.auth.claims[groups]
              values: ["admins"]
            - key: request.auth.audiences
              notValues: ["shop"]
          """.formatted(action));
    }

    @Test
    void aDenyRuleOnJwtFieldsDeniesAsIfTheyWereNotThere() {
      AuthorizationFilters filters = FOR_GRPC.translate(policies(jwtPolicy("DENY")));
      Policy deny = filters.deny().get().getRules().getPoliciesOrThrow("ns[shop]-policy[jwt]-rule[0]");
      // the first source keeps its namespace, the second had only notRequestPrincipals: any peer
      assertThat(deny.getPrincipalsList()).hasSize(2);
      assertThat(principalNames(deny.getPrincipals(0).getAndIds().getIds(0))).containsExactly(regex(".*/ns/shop/.*"));
      assertThat(deny.getPrincipals(0).getAndIds().getIdsCount()).isOne();
      assertThat(deny.getPrincipals(1)).isEqualTo(ANY_PEER);
      assertThat(operationClauses(deny)).hasSize(1);
      assertThat(deny.toString()).doesNotContain(RbacMatchers.JWT_FILTER);
      assertThat(filters.warnings()).extracting(Problem::field).containsExactly(
          "spec.rules[0].when[0]", "spec.rules[0].when[1]",
          "spec.rules[0].from[0].source.requestPrincipals", "spec.rules[0].from[1].source.notRequestPrincipals");
      assertThat(filters.warnings()).allSatisfy(w -> assertThat(w.message())
          .contains("verified JWT", "enforced fail-closed", "denies as if this field were not there"));
    }

    @Test
    void anAllowRuleOnJwtFieldsIsDroppedSoItAllowsNothing() {
      AuthorizationFilters filters = FOR_GRPC.translate(policies(jwtPolicy("ALLOW")));
      assertThat(filters.allow()).isPresent();
      assertThat(filters.allow().get().hasRules()).isTrue();
      assertThat(filters.allow().get().getRules().getPoliciesMap()).isEmpty();
      assertThat(filters.warnings()).hasSize(4).allSatisfy(w -> assertThat(w.message())
          .contains("enforced fail-closed", "the rule is dropped, so it allows nothing"));
    }

    @Test
    void anAllowPolicyKeepsItsRulesThatNeedNoJwt() {
      AuthorizationFilters filters = FOR_GRPC.translate(policies(policy("p", """
          rules:
          - from:
            - source: {requestPrincipals: ["*"]}
          - from:
            - source: {namespaces: ["shop"]}
          """)));
      assertThat(filters.allow().get().getRules().getPoliciesMap()).containsOnlyKeys("ns[shop]-policy[p]-rule[1]");
      assertThat(filters.warnings()).extracting(Problem::field).containsExactly("spec.rules[0].from[0].source.requestPrincipals");
    }

    @Test
    void aDenyOfRequestsWithoutAJwtDeniesEveryRequest() {
      // Istio's "require a JWT": DENY notRequestPrincipals ["*"]; no request to a proxyless gRPC server carries a verified one
      AuthorizationFilters filters = FOR_GRPC.translate(policies(policy("require-jwt", """
          action: DENY
          rules:
          - from:
            - source:
                notRequestPrincipals: ["*"]
          """)));
      Policy deny = filters.deny().get().getRules().getPoliciesOrThrow("ns[shop]-policy[require-jwt]-rule[0]");
      assertThat(deny.getPrincipalsList()).containsExactly(ANY_PEER);
    }

    @Test
    void anAuditRuleOnJwtFieldsAuditsAsIfTheyWereNotThere() {
      AuthorizationFilters filters = FOR_GRPC.translate(policies(jwtPolicy("AUDIT")));
      assertThat(filters.audit().get().getRules().getPoliciesMap()).containsOnlyKeys("ns[shop]-policy[jwt]-rule[0]");
      assertThat(filters.audit().get().toString()).doesNotContain(RbacMatchers.JWT_FILTER);
    }

    @Test
    void inmeshServersGetJwtMatchersAndNoServerGetsOtherFiltersMetadata() {
      String policies = jwtPolicy("DENY") + jwtPolicy("ALLOW").replace("name: jwt", "name: jwt-allow")
          + policy("meta", """
              action: DENY
              rules:
              - when:
                - key: experimental.envoy.filters.network.mysql_proxy[db.table]
                  values: ["[update]"]
              """);
      AuthorizationFilters inmesh = TRANSLATOR.translate(policies(policies));
      assertThat(inmesh.httpFilters().toString()).contains(RbacMatchers.JWT_FILTER).doesNotContain("mysql_proxy");
      assertThat(inmesh.allow().get().getRules().getPoliciesMap()).containsOnlyKeys("ns[shop]-policy[jwt-allow]-rule[0]");
      assertThat(inmesh.warnings()).extracting(Problem::resource).allSatisfy(r -> assertThat(r).contains("meta"));
      assertThat(FOR_GRPC.translate(policies(policies)).httpFilters().toString()).doesNotContain("metadata");
      for (AuthorizationTranslator translator : List.of(TRANSLATOR, FOR_GRPC)) {
        AuthorizationFilters filters = translator.translate(policies(policies));
        assertThat(filters.deny().get().getRules().getPoliciesOrThrow("ns[shop]-policy[meta]-rule[0]").getPermissionsList())
            .containsExactly(Permission.newBuilder().setAndRules(Permission.Set.newBuilder()
                .addRules(Permission.newBuilder().setAny(true))).build());
      }
    }

    @Test
    void forProxylessGrpcServerNamesPathTemplatesAndGrpcHeadersFailClosed() {
      String policies = policy("deny", """
          action: DENY
          rules:
          - to:
            - operation:
                methods: ["POST"]
                paths: ["/shop.Cart/{*}"]
            when:
            - key: connection.sni
              values: ["cart.shop"]
            - key: request.headers[grpc-timeout]
              values: ["*"]
          """) + policy("allow", """
          rules:
          - to:
            - operation:
                paths: ["/shop.Cart/Get", "/{*}/List"]
          - to:
            - operation:
                paths: ["/shop.Cart/Put"]
          """);
      AuthorizationFilters grpc = FOR_GRPC.translate(policies(policies));
      Policy deny = grpc.deny().get().getRules().getPoliciesOrThrow("ns[shop]-policy[deny]-rule[0]");
      assertThat(operationClauses(deny)).extracting(p -> p.getOrRules().getRules(0).getHeader().getName())
          .containsExactly(":method");
      assertThat(deny.getPrincipalsList()).containsExactly(ANY_PEER);
      assertThat(grpc.allow().get().getRules().getPoliciesMap()).containsOnlyKeys("ns[shop]-policy[allow]-rule[1]");
      assertThat(grpc.warnings()).extracting(w -> w.resource() + " " + w.field()).containsExactly(
          "AuthorizationPolicy/shop/allow spec.rules[0].to[0].operation.paths",
          "AuthorizationPolicy/shop/deny spec.rules[0].when[0]",
          "AuthorizationPolicy/shop/deny spec.rules[0].when[1].key",
          "AuthorizationPolicy/shop/deny spec.rules[0].to[0].operation.paths");
      assertThat(grpc.warnings()).allSatisfy(w -> assertThat(w.message()).contains("proxyless gRPC servers"));

      // Inmesh's own servers evaluate all three
      AuthorizationFilters inmesh = TRANSLATOR.translate(policies(policies));
      assertThat(inmesh.warnings()).isEmpty();
      assertThat(inmesh.allow().get().getRules().getPoliciesMap()).hasSize(2);
    }

    @Test
    void pseudoHeadersBeyondMethodAuthorityAndPathFailClosedOnInmesh() {
      AuthorizationFilters filters = translate(policy("p", """
          action: DENY
          rules:
          - when:
            - key: request.headers[:scheme]
              values: ["http"]
            - key: request.headers[:path]
              values: ["/admin"]
          """));
      Policy deny = filters.deny().get().getRules().getPoliciesOrThrow("ns[shop]-policy[p]-rule[0]");
      assertThat(sourceClauses(deny)).extracting(p -> p.getOrIds().getIds(0).getHeader().getName())
          .containsExactly(":path");
      assertThat(filters.warnings()).extracting(Problem::field).containsExactly("spec.rules[0].when[0].key");
    }

    @Test
    void aCustomRuleLeavesOutWhatTheServersCannotEvaluate() {
      AuthorizationFilters filters = FOR_GRPC.translate(policies(policy("ext", """
          action: CUSTOM
          provider: {name: opa}
          rules:
          - to:
            - operation:
                paths: ["/{*}/Delete"]
                ports: ["9000"]
          """)));
      Policy deny = filters.deny().get().getRules()
          .getPoliciesOrThrow("istio-ext-authz-opa-ns[shop]-policy[ext]-rule[0]-deny-due-to-bad-CUSTOM-action");
      assertThat(operationClauses(deny)).extracting(p -> p.getOrRules().getRules(0).getDestinationPort())
          .containsExactly(9000);
      assertThat(filters.warnings()).extracting(Problem::field)
          .containsExactly("spec.action", "spec.rules[0].to[0].operation.paths");
    }
  }

  @Nested
  class Applicability {
    private final ConfigResource meshWide = policies(policy("mesh", "{}").replace("namespace: shop",
        "namespace: istio-system")).get(0);
    private final ConfigResource namespaceWide = policies(policy("ns", "{}")).get(0);
    private final ConfigResource selected = policies(policy("sel", """
        selector:
          matchLabels: {app: reviews}
        """)).get(0);

    @Test
    void appliesRootNamespacePoliciesMeshWide() {
      assertThat(AuthorizationTranslator.appliesTo(meshWide, "billing", Map.of(), null)).isTrue();
      assertThat(AuthorizationTranslator.appliesTo(meshWide, "billing", Map.of(), "mesh-root")).isFalse();
    }

    @Test
    void appliesPoliciesWithoutSelectorToTheirWholeNamespaceOnly() {
      assertThat(AuthorizationTranslator.appliesTo(namespaceWide, "shop", Map.of("app", "x"), null)).isTrue();
      assertThat(AuthorizationTranslator.appliesTo(namespaceWide, "billing", Map.of("app", "x"), null)).isFalse();
    }

    @Test
    void appliesSelectorPoliciesToWorkloadsWhoseLabelsMatch() {
      assertThat(AuthorizationTranslator.appliesTo(selected, "shop", Map.of("app", "reviews", "version", "v2"), null))
          .isTrue();
      assertThat(AuthorizationTranslator.appliesTo(selected, "shop", Map.of("app", "ratings"), null)).isFalse();
    }
  }

  @Test
  void quotesRegexMetacharactersAsGoDoes() {
    assertThat(RbacMatchers.quoteMeta("a.b[0]*(x)|{y}^$+?\\")).isEqualTo("a\\.b\\[0\\]\\*\\(x\\)\\|\\{y\\}\\^\\$\\+\\?\\\\");
  }
}
