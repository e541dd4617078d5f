package dev.inmesh.examples.bookinfo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.config.Problem;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.IstioSamples;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Istio's "Authorization for HTTP traffic" task, step by step on the Bookinfo demo, with Istio's own
 * unmodified policies ({@code istio-io-tasks/security-authz-http.yaml} in {@code shared/istio-samples}
 * beside the repository; skipped when that is absent). Each policy is applied in the doc's order and
 * the product page is then read as the doc describes it, through the ingress gateway as the task's
 * browser reads it, so that productpage's caller is the gateway
 * ({@code cluster.local/ns/istio-system/sa/istio-ingressgateway}): {@code allow-nothing} answers
 * "RBAC: access denied" from productpage's door, relayed by the gateway, which it does not govern; {@code productpage-viewer} serves the page with details and reviews in
 * error; {@code details-viewer} and {@code reviews-viewer} bring those back with the ratings
 * unavailable; {@code ratings-viewer} brings the stars back.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IstioAuthzHttpTaskIT {
  private static final Duration CHANGE = Duration.ofSeconds(30);
  /** Pages read once a step has taken effect: enough that each of reviews v1, v2 and v3 shows. */
  private static final int PAGES = 30;
  private static final Pattern DOCUMENT_NAME = Pattern.compile("(?m)^  name: \"?([a-z-]+)\"?$");

  private final HttpClient browser = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private List<String> documents;
  private Bookinfo bookinfo;

  @BeforeAll
  void start() throws IOException {
    Optional<Path> task = IstioSamples.file("istio-io-tasks/security-authz-http.yaml");
    Assumptions.assumeTrue(task.isPresent(), "shared/istio-samples/istio-io-tasks/security-authz-http.yaml not found");
    documents = List.of(Files.readString(task.get()).split("(?m)^---\\s*$"));
    bookinfo = Bookinfo.start(Bookinfo.Ports.ephemeral());
  }

  @AfterAll
  void stop() {
    if (bookinfo != null) {
      bookinfo.close();
    }
  }

  @Test
  @Order(1)
  void withoutPoliciesThePageIsWhole() {
    List<Shown> pages = stable(shown -> shown.status == 200 && shown.page.details().equals("ok")
        && shown.page.reviews().equals("ok") && !shown.page.ratings().equals("unavailable"), "the whole page");
    assertThat(pages).extracting(shown -> shown.page.reviewsShown()).contains("v1", "v2", "v3");
  }

  @Test
  @Order(2)
  void allowNothingDeniesTheProductPage() {
    apply("allow-nothing");

    List<Shown> pages = stable(shown -> shown.status == 403, "the product page to be denied");
    assertThat(pages).allSatisfy(shown -> assertThat(shown.body).isEqualTo("RBAC: access denied"));
    // the policy is default's: the gateway in istio-system still answers for itself, with Envoy's 404 for no route
    assertThat(read(bookinfo.productPage().resolve("/details/0")).status).isEqualTo(404);
  }

  @Test
  @Order(3)
  void productpageViewerServesThePageWithDetailsAndReviewsInError() {
    apply("productpage-viewer");

    List<Shown> pages = stable(shown -> shown.status == 200, "the product page to be served");
    assertThat(pages).allSatisfy(shown -> {
      assertThat(shown.page.details()).isEqualTo("error");
      assertThat(shown.page.reviews()).isEqualTo("unavailable");
      assertThat(shown.body).contains(ProductPage.DETAILS_ERROR, ProductPage.REVIEWS_ERROR);
    });
  }

  @Test
  @Order(4)
  void theGatewayViewerGovernsNoBookinfoWorkload() {
    apply("bookinfo-gateway-viewer");

    assertThat(stable(shown -> shown.status == 200, "the product page to be served"))
        .allSatisfy(shown -> assertThat(shown.page.details()).isEqualTo("error"));
  }

  @Test
  @Order(5)
  void detailsAndReviewsViewersBringThemBackWithRatingsUnavailable() {
    apply("details-viewer");
    apply("reviews-viewer");

    List<Shown> pages = stable(shown -> shown.status == 200 && shown.page.details().equals("ok")
        && shown.page.reviews().equals("ok"), "details and reviews on the page");
    List<Shown> starred = pages.stream().filter(shown -> !shown.page.version().equals("v1")).toList();
    assertThat(starred).as("pages from reviews v2 and v3").isNotEmpty()
        .allSatisfy(shown -> {
          assertThat(shown.page.ratings()).isEqualTo("unavailable");
          assertThat(shown.body).contains(Reviews.UNAVAILABLE);
        });
  }

  @Test
  @Order(6)
  void ratingsViewerBringsTheStarsBack() {
    apply("ratings-viewer");

    List<Shown> pages = stable(shown -> shown.status == 200 && shown.page.details().equals("ok")
        && shown.page.reviews().equals("ok") && !shown.page.ratings().equals("unavailable"), "ratings on the page");
    assertThat(pages).extracting(shown -> shown.page.version()).contains("v2", "v3");
    assertThat(pages).filteredOn(shown -> shown.page.version().equals("v2"))
        .allSatisfy(shown -> assertThat(shown.body).contains("color:black\">\u2605\u2605\u2605\u2605\u2605"));
    assertThat(pages).filteredOn(shown -> shown.page.version().equals("v3"))
        .allSatisfy(shown -> assertThat(shown.body).contains("color:red\">\u2605\u2605\u2605\u2605\u2605"));
  }

  /** Applies the task's document named {@code name}, as {@code kubectl apply} of that snippet, and waits for every ACK. */
  private void apply(String name) {
    String document = documents.stream().filter(doc -> {
      Matcher matcher = DOCUMENT_NAME.matcher(doc);
      return matcher.find() && matcher.group(1).equals(name);
    }).findFirst().orElseThrow(() -> new AssertionError("no policy " + name + " in security-authz-http.yaml"));
    ApplyResult result = bookinfo.control().apply("security-authz-http.yaml#" + name, document);
    assertThat(result.errors()).as("errors applying %s", name).extracting(Problem::toString).isEmpty();
    bookinfo.awaitConverged();
  }

  /**
   * Waits until a page shows what the step should, then reads {@value #PAGES} more, each of which must
   * show it too: the policy is in force everywhere, not only on the first workload that took it.
   */
  private List<Shown> stable(Predicate<Shown> expected, String what) {
    List<Shown> last = new ArrayList<>();
    Await.until(() -> {
      Shown shown = read();
      last.clear();
      last.add(shown);
      return expected.test(shown);
    }, CHANGE, what, () -> last.isEmpty() ? "no page read" : "last: " + last.get(0).status + " " + last.get(0).page);
    List<Shown> pages = new ArrayList<>();
    for (int i = 0; i < PAGES; i++) {
      pages.add(read());
    }
    assertThat(pages).as(what).allMatch(expected);
    return pages;
  }

  private Shown read() {
    return read(bookinfo.productPage());
  }

  private Shown read(java.net.URI uri) {
    try {
      HttpResponse<String> response = browser.send(HttpRequest.newBuilder(uri)
          .timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
      return new Shown(response.statusCode(), response.body(), Tour.Page.parse(response.body()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private record Shown(int status, String body, Tour.Page page) {}
}
