package dev.inmesh.control.analyze;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Each analyzer finding on a fixture that triggers it (src/test/resources/analyze/…, each read with
 * the reviews service in analyze/service), and silence on a clean one.
 */
class AnalyzerTest {

  @Test
  void aCleanMeshHasNoFindings() throws Exception {
    assertThat(analyze("clean")).isEmpty();
  }

  @Test
  void aVirtualServiceHostWithoutAServiceIsReferencedResourceNotFound() throws Exception {
    assertThat(analyze("vs-host-without-service")).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo(AnalysisCode.IST0101);
      assertThat(f.severity()).isEqualTo(Severity.ERROR);
      assertThat(f.resource()).isEqualTo("VirtualService/default/ratings");
      assertThat(f.field()).isEqualTo("spec.hosts[0]");
      assertThat(f.message()).contains("ratings.default.svc.cluster.local has no service");
    });
  }

  @Test
  void aRouteToASubsetNoDestinationRuleDefinesIsReferencedResourceNotFound() throws Exception {
    assertThat(analyze("missing-subset")).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo(AnalysisCode.IST0101);
      assertThat(f.resource()).isEqualTo("VirtualService/default/reviews");
      assertThat(f.field()).isEqualTo("spec.http[0].route[1].destination.subset");
      assertThat(f.message()).contains("subset v3").contains("not defined by any DestinationRule");
    });
  }

  @Test
  void aSubsetThatSelectsNoEndpointIsReported() throws Exception {
    assertThat(analyze("subset-without-endpoint")).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo(AnalysisCode.IM0001);
      assertThat(f.severity()).isEqualTo(Severity.WARNING);
      assertThat(f.resource()).isEqualTo("DestinationRule/default/reviews-v3");
      assertThat(f.field()).isEqualTo("spec.subsets[0]");
      assertThat(f.message()).contains("version=v3").contains("reviews.default.svc.cluster.local");
    });
  }

  @Test
  void aRouteAfterOneThatMatchesEverythingIsUnreachable() throws Exception {
    assertThat(analyze("unreachable-route")).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo(AnalysisCode.IST0130);
      assertThat(f.field()).isEqualTo("spec.http[1]");
      assertThat(f.message()).contains("route #1 (jason-to-v2) is never reached").contains("route #0 (everything)");
    });
  }

  @Test
  void aMatchThatRepeatsAnEarlierRoutesMatchIsIneffective() throws Exception {
    assertThat(analyze("duplicate-match")).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo(AnalysisCode.IST0131);
      assertThat(f.severity()).isEqualTo(Severity.INFO);
      assertThat(f.field()).isEqualTo("spec.http[1].match[0]");
      assertThat(f.message()).contains("duplicates match #0 of route #0");
    });
  }

  @Test
  void twoVirtualServicesForOneHostConflictAndTheSecondIsNamed() throws Exception {
    assertThat(analyze("conflicting-virtual-services")).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo(AnalysisCode.IST0109);
      assertThat(f.resource()).isEqualTo("VirtualService/default/reviews-b");
      assertThat(f.message()).contains("already routed by VirtualService/default/reviews-a");
    });
  }

  @Test
  void aWildcardVirtualServiceShadowedByAnExactOneIsReported() throws Exception {
    assertThat(analyze("shadowed-wildcard")).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo(AnalysisCode.IM0002);
      assertThat(f.resource()).isEqualTo("VirtualService/default/all-of-default");
      assertThat(f.message()).contains("host reviews.default.svc.cluster.local is already routed by VirtualService/default/reviews");
    });
  }

  @Test
  void anAuthorizationPolicyWhoseSelectorMatchesNoWorkloadIsReported() throws Exception {
    assertThat(analyze("authorization-selects-nothing")).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo(AnalysisCode.IST0127);
      assertThat(f.resource()).isEqualTo("AuthorizationPolicy/default/ratings-viewer");
      assertThat(f.field()).isEqualTo("spec.selector.matchLabels");
      assertThat(f.message()).contains("app=ratings").contains("namespace default");
    });
  }

  @Test
  void aDestinationRuleDisablingTlsTowardStrictWorkloadsIsAnMtlsConflict() throws Exception {
    assertThat(analyze("mtls-mismatch")).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo(AnalysisCode.IST0113);
      assertThat(f.resource()).isEqualTo("DestinationRule/default/reviews-plaintext");
      assertThat(f.field()).isEqualTo("spec.trafficPolicy.tls.mode");
      assertThat(f.message()).contains("STRICT");
    });
  }

  @Test
  void aFieldThatIsAcceptedButNotEnforcedIsReported() throws Exception {
    assertThat(analyze("not-enforced")).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo(AnalysisCode.IM0003);
      assertThat(f.resource()).isEqualTo("DestinationRule/default/reviews-slow-start");
      assertThat(f.source()).endsWith("slow-start.yaml");
      assertThat(f.message()).contains("not enforced");
    });
  }

  @Test
  void policiesInmeshCannotEvaluateAreReportedAsEnforcedFailClosed() throws Exception {
    assertThat(analyze("fail-closed")).extracting(Finding::code, Finding::resource, Finding::field).containsExactly(
        org.assertj.core.groups.Tuple.tuple(AnalysisCode.IM0004, "AuthorizationPolicy/default/ext-authz", "spec.action"));
    // require-jwt's notRequestPrincipals is enforced now that Inmesh's servers verify JWTs
    assertThat(analyze("fail-closed")).extracting(Finding::message).satisfiesExactly(
        custom -> assertThat(custom).contains("opa", "denied"));
  }

  @Test
  void aResourceThatFailsValidationIsASchemaValidationErrorNamingFileAndField() throws Exception {
    assertThat(analyze("schema-error")).singleElement().satisfies(f -> {
      assertThat(f.code()).isEqualTo(AnalysisCode.IST0106);
      assertThat(f.source()).endsWith("bad-weight.yaml");
      assertThat(f.resource()).isEqualTo("VirtualService/default/reviews");
      assertThat(f.field()).contains("weight");
    });
  }

  @Test
  void registeredWorkloadsFromARegistryFileCountAsEndpoints() throws Exception {
    Path registry = fixture("registry.json");
    ConfigFiles files = ConfigFiles.read(List.of(fixture("authorization-selects-nothing/policy.yaml")));
    List<Finding> findings = Analyzer.analyze(files.resources(), ConfigFiles.registry(registry), files.problems(), host -> List.of());
    assertThat(findings).isEmpty();
  }

  private static List<Finding> analyze(String fixture) throws IOException, URISyntaxException {
    // every fixture runs against the reviews service in analyze/service
    ConfigFiles files = ConfigFiles.read(List.of(fixture("service"), fixture(fixture)));
    assertThat(files.files()).isNotEmpty();
    return Analyzer.analyze(files.resources(), List.of(), files.problems(), host -> List.of());
  }

  static Path fixture(String name) throws URISyntaxException {
    return Path.of(AnalyzerTest.class.getResource("/analyze/" + name).toURI());
  }
}
