package dev.inmesh.control.translate.authz;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.ParseResult;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Checks the translator against Istio's own generator: for each HTTP case of Istio's
 * {@code pilot/pkg/security/authz/builder} test data (kept beside the repository in
 * {@code shared/istio-samples/authz-builder-oracle}, read at test time, skipped when absent), the
 * {@code -in.yaml} policies of a workload {@code app=httpbin, version=v1} in namespace {@code foo}
 * must translate into the RBAC filters of the {@code -out*.yaml} files.
 *
 * <p>Comparison is by meaning: the filters are matched by action (DENY, ALLOW, LOG) rather than by
 * name, since Istio names both sidecar filters {@code envoy.filters.http.rbac}; then the RBAC
 * messages must be equal after the children of every and/or are put in a canonical order, because
 * the order in which Istio lists the fields of one source (say {@code trustDomains} before or after
 * {@code ipBlocks}) or expands trust domain aliases is Istio's choice and means nothing to RBAC. The
 * CUSTOM cases with an ext_authz provider are out of scope; the case where Istio cannot use the
 * provider (a DENY rule per CUSTOM rule) is what Inmesh always does, and is listed.
 *
 * <p>Istio's outputs are for Envoy, which evaluates JWT claims and other filters' metadata, so the
 * translator is asked for {@link AuthorizationConfig.DataPlane#ENVOY}; what it writes for Inmesh's
 * servers and proxyless gRPC is in {@code AuthorizationTranslatorTest}.
 */
class IstioAuthzOracleTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final JsonFormat.Parser JSON = JsonFormat.parser().usingTypeRegistry(JsonFormat.TypeRegistry.newBuilder()
      .add(RBAC.getDescriptor())
      .add(UriTemplateMatchConfig.getDescriptor())
      .build());

  static Stream<Arguments> pairs() {
    AuthorizationConfig plain = envoy(AuthorizationConfig.DEFAULT_TRUST_DOMAIN, List.of());
    return Stream.of(
        Arguments.of("allow-empty-rule", "allow-empty-rule-in.yaml", List.of("allow-empty-rule-out.yaml"), plain),
        Arguments.of("allow-full-rule", "allow-full-rule-in.yaml", List.of("allow-full-rule-out.yaml"), plain),
        Arguments.of("allow-nil-rule", "allow-nil-rule-in.yaml", List.of("allow-nil-rule-out.yaml"), plain),
        Arguments.of("allow-path", "allow-path-in.yaml", List.of("allow-path-out.yaml"), plain),
        Arguments.of("audit-full-rule", "audit-full-rule-in.yaml", List.of("audit-full-rule-out.yaml"), plain),
        Arguments.of("custom-bad-invalid-config", "custom-simple-http-in.yaml", List.of("custom-bad-out.yaml"), plain),
        Arguments.of("deny-and-allow", "deny-and-allow-in.yaml",
            List.of("deny-and-allow-out1.yaml", "deny-and-allow-out2.yaml"), plain),
        Arguments.of("deny-empty-rule", "deny-empty-rule-in.yaml", List.of("deny-empty-rule-out.yaml"), plain),
        Arguments.of("dry-run-allow-and-deny", "dry-run-allow-and-deny-in.yaml",
            List.of("dry-run-allow-and-deny-out1.yaml", "dry-run-allow-and-deny-out2.yaml"), plain),
        Arguments.of("dry-run-allow", "dry-run-allow-in.yaml", List.of("dry-run-allow-out.yaml"), plain),
        Arguments.of("dry-run-mix", "dry-run-mix-in.yaml", List.of("dry-run-mix-out.yaml"), plain),
        Arguments.of("multiple-policies", "multiple-policies-in.yaml", List.of("multiple-policies-out.yaml"), plain),
        Arguments.of("single-policy", "single-policy-in.yaml", List.of("single-policy-out.yaml"), plain),
        Arguments.of("trust-domain-one-alias", "simple-policy-td-aliases-in.yaml",
            List.of("simple-policy-td-aliases-out.yaml"), envoy("td1", List.of("cluster.local"))),
        Arguments.of("trust-domain-multiple-aliases", "simple-policy-multiple-td-aliases-in.yaml",
            List.of("simple-policy-multiple-td-aliases-out.yaml"),
            envoy("td1", List.of("cluster.local", "some-td"))),
        Arguments.of("trust-domain-wildcard-in-principal", "simple-policy-principal-with-wildcard-in.yaml",
            List.of("simple-policy-principal-with-wildcard-out.yaml"), envoy("td1", List.of("foobar"))),
        Arguments.of("trust-domain-aliases-in-source-principal", "td-aliases-source-principal-in.yaml",
            List.of("td-aliases-source-principal-out.yaml"),
            envoy("new-td", List.of("old-td", "some-trustdomain"))),
        Arguments.of("trust-domains-field", "trust-domains-in.yaml", List.of("trust-domains-out.yaml"), plain));
  }

  private static AuthorizationConfig envoy(String trustDomain, List<String> aliases) {
    return AuthorizationConfig.of(trustDomain, aliases, AuthorizationConfig.DataPlane.ENVOY);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("pairs")
  void translatesLikeIstio(String name, String input, List<String> outputs, AuthorizationConfig config)
      throws IOException {
    Optional<Path> oracle = oracle();
    Assumptions.assumeTrue(oracle.isPresent(), "shared/istio-samples/authz-builder-oracle not found beside the repository");
    Path http = oracle.get().resolve("http");

    ParseResult parsed = ConfigParser.defaults().parse(input, Files.readString(http.resolve(input)));
    assertThat(parsed.errors()).as("parse errors in %s", input).isEmpty();
    List<ConfigResource> applicable = parsed.resources().stream()
        .filter(r -> AuthorizationTranslator.appliesTo(r, "foo", Map.of("app", "httpbin", "version", "v1"), null))
        .toList();
    assertThat(applicable).hasSameSizeAs(parsed.resources());
    AuthorizationFilters filters = AuthorizationTranslator.of(config).translate(applicable);

    List<RBAC> expected = new ArrayList<>();
    for (String output : outputs) {
      expected.add(readFilter(http.resolve(output)));
    }
    assertThat(filters.httpFilters()).as("number of RBAC filters").hasSize(expected.size());
    for (RBAC want : expected) {
      io.envoyproxy.envoy.config.rbac.v3.RBAC.Action action =
          want.hasRules() ? want.getRules().getAction() : want.getShadowRules().getAction();
      Optional<RBAC> got = switch (action) {
        case DENY -> filters.deny();
        case ALLOW -> filters.allow();
        case LOG -> filters.audit();
        default -> throw new AssertionError("unexpected action " + action);
      };
      assertThat(got).as("a %s filter", action).isPresent();
      assertThat(got.get().getRules().getPoliciesMap().keySet())
          .as("policy names").isEqualTo(want.getRules().getPoliciesMap().keySet());
      assertThat(got.get().getShadowRules().getPoliciesMap().keySet())
          .as("shadow policy names").isEqualTo(want.getShadowRules().getPoliciesMap().keySet());
      assertThat(canonical(got.get())).as("%s filter of %s", action, name).isEqualTo(canonical(want));
      System.out.printf("oracle %s: %s filter %s%n", name, action,
          got.get().equals(want) ? "equal as generated" : "equal after ordering and/or children");
    }
  }

  private static RBAC readFilter(Path file) throws IOException {
    JsonNode node = YAML.readTree(file.toFile());
    HttpFilter.Builder filter = HttpFilter.newBuilder();
    JSON.merge(node.toString(), filter);
    try {
      return filter.getTypedConfig().unpack(RBAC.class);
    } catch (InvalidProtocolBufferException e) {
      throw new IOException(file + " does not hold an RBAC filter", e);
    }
  }

  private static RBAC canonical(RBAC rbac) {
    RBAC.Builder builder = rbac.toBuilder();
    if (!rbac.hasShadowRules()) {
      // it names the statistics of shadow rules, so without them it means nothing (Istio leaves it out for CUSTOM)
      builder.clearShadowRulesStatPrefix();
    }
    if (rbac.hasRules()) {
      builder.setRules(canonical(rbac.getRules()));
    }
    if (rbac.hasShadowRules()) {
      builder.setShadowRules(canonical(rbac.getShadowRules()));
    }
    return builder.build();
  }

  private static io.envoyproxy.envoy.config.rbac.v3.RBAC canonical(io.envoyproxy.envoy.config.rbac.v3.RBAC rules) {
    io.envoyproxy.envoy.config.rbac.v3.RBAC.Builder builder = rules.toBuilder().clearPolicies();
    rules.getPoliciesMap().forEach((name, policy) -> builder.putPolicies(name, Policy.newBuilder()
        .addAllPermissions(sortedPermissions(policy.getPermissionsList()))
        .addAllPrincipals(sortedPrincipals(policy.getPrincipalsList()))
        .build()));
    return builder.build();
  }

  private static List<Permission> sortedPermissions(List<Permission> permissions) {
    return permissions.stream().map(IstioAuthzOracleTest::canonical)
        .sorted(Comparator.comparing(Permission::toString)).toList();
  }

  private static Permission canonical(Permission permission) {
    return switch (permission.getRuleCase()) {
      case AND_RULES -> Permission.newBuilder().setAndRules(Permission.Set.newBuilder()
          .addAllRules(sortedPermissions(permission.getAndRules().getRulesList()))).build();
      case OR_RULES -> Permission.newBuilder().setOrRules(Permission.Set.newBuilder()
          .addAllRules(sortedPermissions(permission.getOrRules().getRulesList()))).build();
      case NOT_RULE -> Permission.newBuilder().setNotRule(canonical(permission.getNotRule())).build();
      default -> permission;
    };
  }

  private static List<Principal> sortedPrincipals(List<Principal> principals) {
    return principals.stream().map(IstioAuthzOracleTest::canonical)
        .sorted(Comparator.comparing(Principal::toString)).toList();
  }

  private static Principal canonical(Principal principal) {
    return switch (principal.getIdentifierCase()) {
      case AND_IDS -> Principal.newBuilder().setAndIds(Principal.Set.newBuilder()
          .addAllIds(sortedPrincipals(principal.getAndIds().getIdsList()))).build();
      case OR_IDS -> Principal.newBuilder().setOrIds(Principal.Set.newBuilder()
          .addAllIds(sortedPrincipals(principal.getOrIds().getIdsList()))).build();
      case NOT_ID -> Principal.newBuilder().setNotId(canonical(principal.getNotId())).build();
      default -> principal;
    };
  }

  /** {@code shared/istio-samples/authz-builder-oracle} in the module directory or any directory above it. */
  private static Optional<Path> oracle() {
    for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve("shared").resolve("istio-samples").resolve("authz-builder-oracle");
      if (Files.isDirectory(candidate.resolve("http"))) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }
}
