package dev.inmesh.control.config.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.SpecReader;
import dev.inmesh.control.config.security.AuthorizationPolicy.Action;
import dev.inmesh.control.config.security.AuthorizationPolicy.Condition;
import dev.inmesh.control.config.security.AuthorizationPolicy.Rule;
import dev.inmesh.control.config.security.PeerAuthentication.Mode;
import dev.inmesh.control.config.security.RequestAuthentication.JwtRule;
import dev.inmesh.control.config.security.RequestAuthentication.Presence;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class SecurityParsersTest {

  private static ParseResult parse(String yaml) {
    return ConfigParser.defaults().parse("policy.yaml", yaml);
  }

  private static List<String> errorFields(ParseResult result) {
    return result.errors().stream().map(Problem::field).toList();
  }

  private static List<String> warningFields(ParseResult result) {
    return result.warnings().stream().map(Problem::field).toList();
  }

  private static <T> T only(ParseResult result, Class<T> type) {
    assertThat(result.errors()).isEmpty();
    assertThat(result.resources()).hasSize(1);
    return type.cast(result.resources().get(0).spec());
  }

  private static String peerAuthentication(String spec) {
    return """
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata:
          name: pa
          namespace: shop
        spec:
        """ + spec.indent(2);
  }

  private static String authorizationPolicy(String spec) {
    return """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: ap
          namespace: shop
        spec:
        """ + spec.indent(2);
  }

  private static String requestAuthentication(String spec) {
    return """
        apiVersion: security.istio.io/v1beta1
        kind: RequestAuthentication
        metadata:
          name: ra
          namespace: shop
        spec:
        """ + spec.indent(2);
  }

  @Nested
  class PeerAuthentications {
    @Test
    void readsWorkloadModeAndPortOverrides() {
      PeerAuthentication policy = only(parse(peerAuthentication("""
          selector:
            matchLabels:
              app: cart
          mtls:
            mode: STRICT
          portLevelMtls:
            9090:
              mode: PERMISSIVE
            "8080":
              mode: DISABLE
          """)), PeerAuthentication.class);

      assertThat(policy.selector()).containsExactly(Map.entry("app", "cart"));
      assertThat(policy.mode()).isEqualTo(Mode.STRICT);
      assertThat(policy.portLevelMtls()).containsExactly(Map.entry(8080, Mode.DISABLE), Map.entry(9090, Mode.PERMISSIVE));
      assertThat(policy.modeFor(9090)).isEqualTo(Mode.PERMISSIVE);
      assertThat(policy.modeFor(7000)).isEqualTo(Mode.STRICT);
    }

    @Test
    void namespaceWidePolicyWithoutModeIsUnset() {
      PeerAuthentication policy = only(parse(peerAuthentication("{}")), PeerAuthentication.class);

      assertThat(policy.mode()).isEqualTo(Mode.UNSET);
      assertThat(policy.selector()).isEmpty();
    }

    @Test
    void rejectsAnUnknownMode() {
      ParseResult result = parse(peerAuthentication("""
          mtls:
            mode: MAYBE
          """));

      assertThat(errorFields(result)).containsExactly("spec.mtls.mode");
      assertThat(result.errors().get(0).message()).contains("Unsupported value: \"MAYBE\"");
    }

    @Test
    void rejectsPortLevelMtlsWithoutASelector() {
      ParseResult result = parse(peerAuthentication("""
          mtls:
            mode: STRICT
          portLevelMtls:
            8080:
              mode: DISABLE
          """));

      assertThat(errorFields(result)).containsExactly("spec.portLevelMtls");
      assertThat(result.errors().get(0).message()).contains("portLevelMtls requires selector");
    }

    @Test
    void rejectsPortsThatAreNotPortNumbers() {
      ParseResult result = parse(peerAuthentication("""
          selector:
            matchLabels:
              app: cart
          portLevelMtls:
            "0":
              mode: STRICT
            "65536":
              mode: STRICT
            http:
              mode: STRICT
          """));

      assertThat(errorFields(result))
          .containsExactly("spec.portLevelMtls.0", "spec.portLevelMtls.65536", "spec.portLevelMtls.http");
    }

    @Test
    void rejectsAnEmptyPortLevelMap() {
      ParseResult result = parse(peerAuthentication("""
          selector:
            matchLabels:
              app: cart
          portLevelMtls: {}
          """));

      assertThat(errorFields(result)).containsExactly("spec.portLevelMtls");
    }

    @Test
    void rejectsAWildcardInTheSelector() {
      ParseResult result = parse(peerAuthentication("""
          selector:
            matchLabels:
              app: "cart-*"
          """));

      assertThat(errorFields(result)).containsExactly("spec.selector.matchLabels.app");
      assertThat(result.errors().get(0).message()).contains("wildcard is not supported in selector");
    }

    @Test
    void namesAnUnknownFieldInsideMtls() {
      ParseResult result = parse(peerAuthentication("""
          mtls:
            mode: STRICT
            strict: true
          """));

      assertThat(errorFields(result)).containsExactly("spec.mtls.strict");
    }
  }

  @Nested
  class AuthorizationPolicies {
    @Test
    void readsEveryPartOfARule() {
      AuthorizationPolicy policy = only(parse(authorizationPolicy("""
          selector:
            matchLabels:
              app: orders
          action: DENY
          rules:
          - from:
            - source:
                principals: ["cluster.local/ns/shop/sa/cart"]
                notNamespaces: ["test-*"]
                ipBlocks: ["10.0.0.0/8", "2001:db8::1"]
            - source:
                serviceAccounts: ["billing/invoicer", "auditor"]
            to:
            - operation:
                methods: ["POST"]
                paths: ["/orders/{*}/items", "/admin/*"]
                ports: ["8080"]
            when:
            - key: request.headers[x-tenant]
              notValues: ["internal"]
            - key: request.auth.claims[groups][0]
              values: ["admins"]
          """)), AuthorizationPolicy.class);

      assertThat(policy.action()).isEqualTo(Action.DENY);
      assertThat(policy.selector()).containsEntry("app", "orders");
      assertThat(policy.rules()).hasSize(1);
      Rule rule = policy.rules().get(0);
      assertThat(rule.from()).hasSize(2);
      assertThat(rule.from().get(0).ipBlocks()).containsExactly("10.0.0.0/8", "2001:db8::1");
      assertThat(rule.from().get(1).serviceAccounts()).containsExactly("billing/invoicer", "auditor");
      assertThat(rule.to().get(0).ports()).containsExactly(8080);
      assertThat(rule.to().get(0).paths()).containsExactly("/orders/{*}/items", "/admin/*");
      assertThat(rule.when()).extracting(Condition::key)
          .containsExactly("request.headers[x-tenant]", "request.auth.claims[groups][0]");
    }

    @Test
    void anEmptySpecAllowsNothing() {
      AuthorizationPolicy policy = only(parse(authorizationPolicy("{}")), AuthorizationPolicy.class);

      assertThat(policy.action()).isEqualTo(Action.ALLOW);
      assertThat(policy.rules()).isEmpty();
    }

    @Test
    void rejectsAPortOutsideTheRange() {
      ParseResult result = parse(authorizationPolicy("""
          rules:
          - to:
            - operation:
                ports: ["0", "443"]
                notPorts: ["http"]
          """));

      assertThat(errorFields(result)).containsExactly(
          "spec.rules[0].to[0].operation.ports[0]", "spec.rules[0].to[0].operation.notPorts[0]");
    }

    @Test
    void rejectsServiceAccountsMixedWithPrincipals() {
      ParseResult result = parse(authorizationPolicy("""
          rules:
          - from:
            - source:
                serviceAccounts: ["shop/cart"]
                namespaces: ["shop"]
          """));

      assertThat(errorFields(result)).containsExactly("spec.rules[0].from[0].source");
      assertThat(result.errors().get(0).message()).isEqualTo("Cannot set serviceAccounts with namespaces or principals");
    }

    @Test
    void rejectsMalformedServiceAccounts() {
      ParseResult result = parse(authorizationPolicy("""
          rules:
          - from:
            - source:
                notServiceAccounts: ["a/b/c"]
          """));

      assertThat(errorFields(result)).containsExactly("spec.rules[0].from[0].source.notServiceAccounts[0]");
    }

    @Test
    void rejectsBadIpBlocks() {
      ParseResult result = parse(authorizationPolicy("""
          rules:
          - from:
            - source:
                ipBlocks: ["10.0.0.1", "10.0.0.0/33", "010.1.2.3", "fe80::1::2", "not-an-ip"]
                remoteIpBlocks: ["::/0"]
          """));

      assertThat(errorFields(result)).containsExactly(
          "spec.rules[0].from[0].source.ipBlocks[1]", "spec.rules[0].from[0].source.ipBlocks[2]",
          "spec.rules[0].from[0].source.ipBlocks[3]", "spec.rules[0].from[0].source.ipBlocks[4]");
    }

    @Test
    void rejectsAnEmptySourceAndAnEmptyOperation() {
      ParseResult result = parse(authorizationPolicy("""
          rules:
          - from:
            - source: {}
            to:
            - operation: {}
          """));

      assertThat(errorFields(result))
          .containsExactly("spec.rules[0].from[0].source", "spec.rules[0].to[0].operation");
    }

    @Test
    void rejectsAnExplicitlyEmptyFromList() {
      ParseResult result = parse(authorizationPolicy("""
          rules:
          - from: []
          """));

      assertThat(errorFields(result)).containsExactly("spec.rules[0].from");
    }

    @Test
    void rejectsUnknownConditionKeysAndBadValues() {
      ParseResult result = parse(authorizationPolicy("""
          rules:
          - when:
            - key: request.method
              values: ["GET"]
            - key: source.ip
              values: ["10.1.2.3", "10.1.2.300"]
            - key: destination.port
              notValues: ["99999"]
            - key: request.headers[]
              values: ["x"]
            - key: request.headers[x-user]
          """));

      assertThat(errorFields(result)).containsExactly(
          "spec.rules[0].when[0].key",
          "spec.rules[0].when[1].values[1]",
          "spec.rules[0].when[2].notValues[0]",
          "spec.rules[0].when[3].key",
          "spec.rules[0].when[4]");
    }

    @Test
    void acceptsEveryConditionKeyIstioSupports() {
      ParseResult result = parse(authorizationPolicy("""
          rules:
          - when:
            - {key: "request.headers[User-Agent]", values: ["curl/*"]}
            - {key: source.ip, values: ["10.0.0.0/16"]}
            - {key: remote.ip, values: ["192.168.1.1"]}
            - {key: source.namespace, values: ["shop"]}
            - {key: source.principal, values: ["cluster.local/ns/shop/sa/*"]}
            - {key: source.trustDomain, values: ["cluster.local"]}
            - {key: request.auth.principal, values: ["issuer/subject"]}
            - {key: request.auth.audiences, values: ["shop"]}
            - {key: request.auth.presenter, values: ["app"]}
            - {key: "request.auth.claims[iss]", values: ["issuer"]}
            - {key: destination.ip, values: ["::1"]}
            - {key: destination.port, values: ["8443"]}
            - {key: connection.sni, values: ["*.shop.svc"]}
            - {key: "experimental.envoy.filters.network.mysql_proxy[db.table]", values: ["[update]"]}
          """));

      assertThat(result.errors()).isEmpty();
    }

    @Test
    void rejectsUnsupportedPathTemplates() {
      ParseResult result = parse(authorizationPolicy("""
          rules:
          - to:
            - operation:
                paths: ["/{**}/a/{*}", "/a/{name}", "/ok/{**}", "/{*}/b c"]
                notPaths: [""]
          """));

      assertThat(errorFields(result)).containsExactly(
          "spec.rules[0].to[0].operation.paths[0]",
          "spec.rules[0].to[0].operation.paths[1]",
          "spec.rules[0].to[0].operation.paths[3]",
          "spec.rules[0].to[0].operation.notPaths[0]");
    }

    @Test
    void rejectsASelectorTogetherWithATargetRef() {
      ParseResult result = parse(authorizationPolicy("""
          selector:
            matchLabels:
              app: orders
          targetRef:
            kind: Service
            group: ""
            name: orders
          """));

      assertThat(errorFields(result)).containsExactly("spec");
      assertThat(result.errors().get(0).message()).contains("only one of targetRefs or selector can be set");
    }

    @Test
    void readsTargetRefsToServicesAndGateways() {
      AuthorizationPolicy policy = only(parse(authorizationPolicy("""
          targetRefs:
          - kind: Service
            group: ""
            name: orders
          - kind: Gateway
            group: gateway.networking.k8s.io
            name: edge
          """)), AuthorizationPolicy.class);

      assertThat(policy.targetRefs()).containsExactly(
          new PolicyTargetReference("", "Service", "orders"),
          new PolicyTargetReference("gateway.networking.k8s.io", "Gateway", "edge"));
    }

    @Test
    void rejectsCrossNamespaceAndMalformedTargetRefs() {
      ParseResult result = parse(authorizationPolicy("""
          targetRefs:
          - kind: Service
            name: orders
            namespace: billing
          - kind: Serv_ice
            name: orders
          - kind: Service
            group: Not_A_Group
            name: orders
          - kind: Deployment
            group: apps
            name: orders
          - kind: Service
          """));

      assertThat(errorFields(result)).containsExactly(
          "spec.targetRefs[0].namespace",
          "spec.targetRefs[1].kind",
          "spec.targetRefs[2].group",
          "spec.targetRefs[3]",
          "spec.targetRefs[4].name");
    }

    @Test
    void warnsThatCustomActionIsEnforcedAsDeny() {
      ParseResult result = parse(authorizationPolicy("""
          action: CUSTOM
          provider:
            name: ext-authz
          rules:
          - to:
            - operation:
                paths: ["/admin/*"]
          """));

      AuthorizationPolicy policy = only(result, AuthorizationPolicy.class);
      assertThat(policy.provider()).contains("ext-authz");
      assertThat(warningFields(result)).containsExactly("spec.action");
      assertThat(result.warnings().get(0).message()).startsWith(SpecReader.FAILS_CLOSED).contains("ext-authz", "denied");
    }

    @Test
    void warnsThatFilterMetadataFailsClosedPerActionAndAcceptsJwtFields() {
      String rules = """
          rules:
          - from:
            - source:
                requestPrincipals: ["issuer/subject"]
            when:
            - {key: request.auth.audiences, values: ["shop"]}
            - {key: "experimental.envoy.filters.network.mysql_proxy[db.table]", values: ["[update]"]}
            - {key: source.ip, values: ["10.0.0.0/8"]}
          """;
      ParseResult deny = parse(authorizationPolicy("action: DENY\n" + rules));
      ParseResult allow = parse(authorizationPolicy(rules));
      ParseResult audit = parse(authorizationPolicy("action: AUDIT\n" + rules));

      for (ParseResult result : List.of(deny, allow, audit)) {
        assertThat(result.errors()).isEmpty();
        assertThat(warningFields(result)).containsExactly("spec.rules[0].when[1].key");
      }
      assertThat(deny.warnings()).allSatisfy(w -> assertThat(w.message()).startsWith(SpecReader.FAILS_CLOSED)
          .endsWith("the rule denies as if this field were not there"));
      assertThat(allow.warnings()).allSatisfy(w -> assertThat(w.message()).startsWith(SpecReader.FAILS_CLOSED)
          .endsWith("the rule is dropped, so it allows nothing"));
      assertThat(audit.warnings()).allSatisfy(w -> assertThat(w.message()).doesNotStartWith(SpecReader.FAILS_CLOSED)
          .endsWith("the rule audits as if this field were not there"));
    }

    @Test
    void rejectsCustomActionWithoutProviderOrWithIdentityRules() {
      ParseResult result = parse(authorizationPolicy("""
          action: CUSTOM
          rules:
          - from:
            - source:
                principals: ["cluster.local/ns/shop/sa/cart"]
            when:
            - key: request.auth.principal
              values: ["issuer/subject"]
          """));

      assertThat(errorFields(result)).containsExactly(
          "spec.provider", "spec.rules[0].from[0].source.principals", "spec.rules[0].when[0].key");
    }

    @Test
    void rejectsAProviderWithoutCustomAction() {
      ParseResult result = parse(authorizationPolicy("""
          action: ALLOW
          provider:
            name: ext-authz
          """));

      assertThat(errorFields(result)).containsExactly("spec.provider");
    }

    @Test
    void warnsThatDenyWithoutRulesNeverMatches() {
      ParseResult result = parse(authorizationPolicy("""
          action: DENY
          """));

      assertThat(result.errors()).isEmpty();
      assertThat(warningFields(result)).containsExactly("spec.rules");
    }

    @Test
    void namesAMisspelledOperationField() {
      ParseResult result = parse(authorizationPolicy("""
          rules:
          - to:
            - operation:
                method: ["GET"]
          """));

      assertThat(errorFields(result)).contains("spec.rules[0].to[0].operation.method");
    }

    @Test
    void rejectsANullRule() {
      ParseResult result = parse(authorizationPolicy("""
          rules:
          - ~
          """));

      assertThat(errorFields(result)).containsExactly("spec.rules[0]");
    }
  }

  @Nested
  class RequestAuthentications {
    @Test
    void readsAJwtRuleWithEveryField() {
      ParseResult result = parse(requestAuthentication("""
          selector:
            matchLabels:
              app: orders
          jwtRules:
          - issuer: https://issuer.example.com
            audiences: ["orders"]
            jwksUri: https://issuer.example.com/.well-known/jwks.json
            fromHeaders:
            - name: x-jwt
              prefix: "Bearer "
            fromParams: ["token"]
            fromCookies: ["session"]
            outputPayloadToHeader: x-jwt-payload
            forwardOriginalToken: true
            outputClaimToHeaders:
            - header: x-user
              claim: sub
            timeout: 2s
            spaceDelimitedClaims: ["scope"]
            presence: REQUIRED
          """));

      RequestAuthentication policy = only(result, RequestAuthentication.class);
      JwtRule rule = policy.jwtRules().get(0);
      assertThat(rule.issuer()).contains("https://issuer.example.com");
      assertThat(rule.fromHeaders()).extracting(RequestAuthentication.JwtHeader::name).containsExactly("x-jwt");
      assertThat(rule.outputClaimToHeaders()).containsExactly(new RequestAuthentication.ClaimToHeader("x-user", "sub"));
      assertThat(rule.timeout()).contains(Duration.ofSeconds(2));
      assertThat(rule.forwardOriginalToken()).isTrue();
      assertThat(rule.presence()).isEqualTo(Presence.REQUIRED);
      assertThat(result.warnings()).as("the rules are enforced; what a server cannot do is warned of at translation")
          .isEmpty();
    }

    @Test
    void aPolicyWithoutRulesHasNothingToWarnAbout() {
      ParseResult result = parse(requestAuthentication("""
          selector:
            matchLabels:
              app: orders
          """));

      assertThat(only(result, RequestAuthentication.class).jwtRules()).isEmpty();
      assertThat(result.warnings()).isEmpty();
    }

    @Test
    void acceptsARuleWithOnlyAJwksUri() {
      RequestAuthentication policy = only(parse(requestAuthentication("""
          jwtRules:
          - jwksUri: http://keys.shop.svc:8080/jwks
          """)), RequestAuthentication.class);

      assertThat(policy.jwtRules().get(0).issuer()).isEqualTo(Optional.empty());
    }

    @Test
    void rejectsARuleWithNeitherIssuerNorJwksUri() {
      ParseResult result = parse(requestAuthentication("""
          jwtRules:
          - audiences: ["orders"]
          """));

      assertThat(errorFields(result)).containsExactly("spec.jwtRules[0].issuer");
    }

    @Test
    void rejectsAJwksUriWithoutHttpScheme() {
      ParseResult result = parse(requestAuthentication("""
          jwtRules:
          - issuer: example
            jwksUri: ftp://issuer.example.com/jwks.json
          - issuer: example
            jwksUri: "https://"
          """));

      assertThat(errorFields(result)).containsExactly("spec.jwtRules[0].jwksUri", "spec.jwtRules[1].jwksUri");
    }

    @Test
    void rejectsInlineKeysThatAreNotAKeySet() {
      ParseResult result = parse(requestAuthentication("""
          jwtRules:
          - issuer: example
            jwks: '{"kid": "no-type"}'
          - issuer: example
            jwks: 'not json'
          - issuer: example
            jwks: '{"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}]}'
          """));

      assertThat(errorFields(result)).containsExactly("spec.jwtRules[0].jwks", "spec.jwtRules[1].jwks");
    }

    @Test
    void rejectsEmptyStringsInLists() {
      ParseResult result = parse(requestAuthentication("""
          jwtRules:
          - issuer: example
            audiences: [""]
            fromParams: [""]
            fromCookies: [""]
            spaceDelimitedClaims: [""]
          """));

      assertThat(errorFields(result)).containsExactly(
          "spec.jwtRules[0].audiences[0]", "spec.jwtRules[0].fromParams[0]",
          "spec.jwtRules[0].fromCookies[0]", "spec.jwtRules[0].spaceDelimitedClaims[0]");
    }

    @Test
    void rejectsHeaderLocationsAndClaimHeadersWithoutNames() {
      ParseResult result = parse(requestAuthentication("""
          jwtRules:
          - issuer: example
            fromHeaders:
            - prefix: "Bearer "
            outputClaimToHeaders:
            - header: ":authority"
              claim: sub
            - header: x-user
              claim: ""
          """));

      assertThat(errorFields(result)).containsExactly(
          "spec.jwtRules[0].fromHeaders[0].name",
          "spec.jwtRules[0].outputClaimToHeaders[0].header",
          "spec.jwtRules[0].outputClaimToHeaders[1].claim");
    }

    @Test
    void rejectsABadTimeoutAndAnUnknownPresence() {
      ParseResult result = parse(requestAuthentication("""
          jwtRules:
          - issuer: example
            timeout: soon
          - issuer: example
            timeout: 500us
          - issuer: example
            presence: MANDATORY
          """));

      assertThat(errorFields(result)).containsExactly(
          "spec.jwtRules[0].timeout", "spec.jwtRules[1].timeout", "spec.jwtRules[2].presence");
    }

    @Test
    void rejectsTargetRefAndTargetRefsTogether() {
      ParseResult result = parse(requestAuthentication("""
          targetRef:
            kind: Service
            name: orders
          targetRefs:
          - kind: Service
            name: orders
          """));

      assertThat(errorFields(result)).containsExactly("spec");
    }

    @Test
    void rejectsATargetRefWithoutAName() {
      ParseResult result = parse(requestAuthentication("""
          targetRef:
            kind: Service
          """));

      assertThat(errorFields(result)).containsExactly("spec.targetRef.name");
    }
  }
}
