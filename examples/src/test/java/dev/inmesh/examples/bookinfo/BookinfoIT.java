package dev.inmesh.examples.bookinfo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.inmesh.control.config.ResourceKey;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.IstioSamples;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The README's Bookinfo commands, run the way {@code bin/demo} runs them: {@code check} reaches a
 * whole product page through the ingress gateway over HTTP and HTTPS, Istio's own unmodified
 * {@code bookinfo-gateway.yaml} binds the gateway as the demo's copy does, and the tour's nine
 * steps each do what their Istio YAML says.
 */
class BookinfoIT {
  private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

  @Test
  void theMainCommandServesAWholeProductPage() throws Exception {
    int status = Bookinfo.run("check", Bookinfo.Ports.ephemeral(), out);

    String said = printed.toString(StandardCharsets.UTF_8);
    assertThat(said).containsPattern("Product page: http://localhost:\\d+/productpage")
        .containsPattern("https://localhost:\\d+/productpage")
        .containsPattern("GET http://localhost:\\d+/productpage: 200, details ok, reviews ok")
        .containsPattern("GET https://localhost:\\d+/productpage: 200, details ok, reviews ok")
        .contains("Bookinfo works.");
    assertThat(status).isZero();
  }

  @Test
  void aTakenGatewayPortIsSaidWithTheOptionThatMovesIt() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      assertThatThrownBy(() -> Bookinfo.start(new Bookinfo.Ports(0, taken.getLocalPort(), 0, 0)))
          .isInstanceOf(IOException.class)
          .hasMessage("port " + taken.getLocalPort() + " for the gateway is taken; choose another with --https-port");
    }
  }

  @Test
  void istiosOwnBookinfoGatewayFileBindsTheGatewayAndTheProductPageIsServedThroughIt() throws Exception {
    Path istios = IstioSamples.file("bookinfo-networking/bookinfo-gateway.yaml").orElse(null);
    Assumptions.assumeTrue(istios != null, "shared/istio-samples/bookinfo-networking/bookinfo-gateway.yaml not found");
    try (Bookinfo bookinfo = Bookinfo.start(Bookinfo.Ports.ephemeral())) {
      HttpClient browser = bookinfo.browser();
      // without the demo's copy the gateway has no port 8080: what serves the page next is Istio's file alone
      bookinfo.control().delete("the demo's copy", List.of(
          new ResourceKey("Gateway", "default", "bookinfo-gateway"), new ResourceKey("VirtualService", "default", "bookinfo")));
      bookinfo.awaitConverged();
      Await.until(() -> bookinfo.gateway().localPort(IngressGateway.HTTP_PORT).isEmpty(), Bookinfo.WAIT,
          "the gateway to close port 8080");

      var result = bookinfo.control().apply("bookinfo-gateway.yaml", Files.readString(istios));
      assertThat(result.errors()).as("Istio's bookinfo-gateway.yaml").isEmpty();
      bookinfo.awaitConverged();

      Await.until(() -> bookinfo.gateway().localPort(IngressGateway.HTTP_PORT).isPresent()
          && get(browser, bookinfo.productPage()).statusCode() == 200, Bookinfo.WAIT,
          "the gateway to open port 8080 and route the product page by Istio's file");
      HttpResponse<String> page = get(browser, bookinfo.productPage());
      Tour.Page shown = Tour.Page.parse(page.body());
      assertThat(shown.details()).isEqualTo("ok");
      assertThat(shown.reviews()).isEqualTo("ok");
      assertThat(get(browser, bookinfo.productPage().resolve("/login?user=jason")).statusCode())
          .as("/login, an exact match of Istio's file").isNotEqualTo(404);
      assertThat(get(browser, bookinfo.productPage().resolve("/details/0")).statusCode())
          .as("a path Istio's file does not route").isEqualTo(404);
    }
  }

  private static HttpResponse<String> get(HttpClient browser, URI uri) {
    try {
      return browser.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Test
  void istiosAllMtlsRuleWithSubsetsNoWorkloadServesIsAckedByEveryClientAndThePageStaysWhole() throws Exception {
    try (Bookinfo bookinfo = Bookinfo.start(Bookinfo.Ports.ephemeral())) {
      var result = bookinfo.apply("destination-rule-all-mtls.yaml");

      assertThat(result.errors()).isEmpty();
      assertThat(bookinfo.control().clients()).isNotEmpty().allSatisfy(client -> assertThat(client.types().values())
          .as("%s", client.nodeId()).allSatisfy(type -> assertThat(type.lastNack()).isEmpty()));
      assertThat(Bookinfo.check(bookinfo, out)).as(printed.toString(StandardCharsets.UTF_8)).isTrue();
    }
  }

  @Test
  void meshctlApplyOfIstiosAllMtlsRuleExitsZeroWithEveryClientAcked() throws Exception {
    // Istio's own file when shared/istio-samples is beside the repository, else the demo's copy
    java.nio.file.Path file = dev.inmesh.testing.IstioSamples.file("bookinfo-networking/destination-rule-all-mtls.yaml")
        .orElse(java.nio.file.Path.of("src/main/resources/bookinfo/destination-rule-all-mtls.yaml"));
    try (Bookinfo bookinfo = Bookinfo.start(Bookinfo.Ports.ephemeral())) {
      ByteArrayOutputStream meshctlOut = new ByteArrayOutputStream();
      ByteArrayOutputStream meshctlErr = new ByteArrayOutputStream();
      int status = dev.inmesh.control.cli.Meshctl.run(new String[] {"apply", "--wait=30s", "-f", file.toString()},
          new PrintStream(meshctlOut, true, StandardCharsets.UTF_8), new PrintStream(meshctlErr, true, StandardCharsets.UTF_8),
          java.util.Map.of("MESHCTL_CREDENTIAL", bookinfo.credentialFile().toString()));
      String said = meshctlOut.toString(StandardCharsets.UTF_8) + meshctlErr.toString(StandardCharsets.UTF_8);

      assertThat(status).as(said).isZero();
      java.util.regex.Matcher acked = java.util.regex.Pattern.compile("(\\d+) of (\\d+) clients ACKed").matcher(said);
      assertThat(acked.find()).as(said).isTrue();
      assertThat(acked.group(1)).as(said).isEqualTo(acked.group(2));
      assertThat(Integer.parseInt(acked.group(2))).as("clients the change reached: " + said).isGreaterThanOrEqualTo(7);
      assertThat(Bookinfo.check(bookinfo, out)).as(printed.toString(StandardCharsets.UTF_8)).isTrue();
    }
  }

  @Test
  void eachStepOfTheTourDoesWhatItsConfigSays() throws Exception {
    List<Tour.Result> results;
    try (Bookinfo bookinfo = Bookinfo.start(Bookinfo.Ports.ephemeral())) {
      results = new Tour(bookinfo, out).run();
    } finally {
      System.out.print(printed.toString(StandardCharsets.UTF_8));
    }

    assertThat(results).hasSize(9);
    assertThat(results).allSatisfy(result -> assertThat(result.failures()).as("step %d, %s", result.step(), result.title())
        .isEmpty());
    // 1: all v1
    assertThat(results.get(0).anonymous().percentOf("v1")).isEqualTo(100);
    // 2: the split within five points
    Tour.Traffic split = results.get(1).anonymous();
    assertThat(split.pages()).hasSize(Tour.SPLIT_PAGES);
    assertThat(split.percentOf("v1")).isCloseTo(50, within(5.0));
    assertThat(split.percentOf("v3")).isCloseTo(50, within(5.0));
    // 3: the header route
    assertThat(results.get(2).jason().percentOf("v2")).isEqualTo(100);
    assertThat(results.get(2).anonymous().percentOf("v3")).isEqualTo(100);
    // 4: the timeout fires before the delay ends
    Tour.Traffic delayed = results.get(3).jason();
    assertThat(delayed.percentOf("unavailable")).isEqualTo(100);
    assertThat(delayed.minMillis()).isGreaterThanOrEqualTo(900);
    assertThat(delayed.maxMillis()).isLessThan(2000);
    // 5: the abort rate
    assertThat(results.get(4).jason().percent(page -> page.ratings().equals("unavailable"))).isEqualTo(100);
    assertThat(results.get(4).anonymous().percent(page -> page.ratings().equals("ok"))).isEqualTo(100);
    // 6: plaintext around the gateway refused, at productpage's port too; the page through the gateway still whole
    assertThat(results.get(5).checks()).filteredOn(check -> check.startsWith("plaintext GET")).hasSize(2)
        .allSatisfy(check -> assertThat(check).doesNotContain(": 200"));
    assertThat(results.get(5).anonymous().percent(page -> page.details().equals("ok"))).isEqualTo(100);
    // 7: the denied call
    assertThat(results.get(6).anonymous().percent(page -> page.details().equals("error"))).isEqualTo(100);
    // 8: a RequestAuthentication at the gateway: valid 200, invalid 401, none 200
    assertThat(results.get(7).checks()).anySatisfy(check -> assertThat(check).startsWith("a valid token")
        .containsPattern(":\\s+200 v\\d$"));
    assertThat(results.get(7).checks()).anySatisfy(check -> assertThat(check).startsWith("a token signed by another key:")
        .contains("401 Jwt verification fails"));
    assertThat(results.get(7).checks()).anySatisfy(check -> assertThat(check).startsWith("no token:")
        .containsPattern(":\\s+200 v\\d$"));
    // 9: and a policy requiring a principal: none 403, invalid 401, valid 200
    assertThat(results.get(8).checks()).anySatisfy(check -> assertThat(check).startsWith("no token:")
        .endsWith("403 RBAC: access denied"));
    assertThat(results.get(8).checks()).anySatisfy(check -> assertThat(check).startsWith("a token signed by another key:")
        .contains("401 Jwt verification fails"));
    assertThat(results.get(8).checks()).anySatisfy(check -> assertThat(check).startsWith("a valid token")
        .containsPattern(":\\s+200 v\\d$"));
  }
}
