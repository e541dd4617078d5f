package dev.inmesh.examples.bookinfo;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Istio's Bookinfo tasks, step by step, on Inmesh: each step applies Istio YAML to mesh-control,
 * then reads product pages through the ingress gateway as a browser would, anonymously and as
 * jason, or with an end user's token, and prints what the traffic did. A step passes when what it observed is what the config says (a split within five
 * points); {@link #run()} returns every step's result.
 */
public final class Tour {
  /** Pages read for a weighted split; the standard error of a 50/50 split is then 1.6 points. */
  static final int SPLIT_PAGES = 1000;
  static final int PAGES = 40;
  static final double TOLERANCE_POINTS = 5;

  private final Bookinfo bookinfo;
  private final PrintStream out;
  private final HttpClient browser;

  public Tour(Bookinfo bookinfo, PrintStream out) {
    this.bookinfo = bookinfo;
    this.out = out;
    this.browser = bookinfo.browser();
  }

  /** What one product page showed. */
  public record Page(String details, String reviews, String version, String ratings, long millis) {
    private static final Pattern DETAILS = Pattern.compile("id=\"details\" data-status=\"([a-z]*)\"");
    private static final Pattern REVIEWS = Pattern.compile(
        "id=\"reviews\" data-status=\"([a-z]*)\" data-version=\"([a-z0-9]*)\"(?: data-ratings=\"([a-z]*)\")?");

    static Page parse(String html) {
      Matcher details = DETAILS.matcher(html);
      Matcher reviews = REVIEWS.matcher(html);
      boolean found = reviews.find();
      return new Page(details.find() ? details.group(1) : "missing", found ? reviews.group(1) : "missing",
          found ? reviews.group(2) : "", found && reviews.group(3) != null ? reviews.group(3) : "none", 0);
    }

    Page took(long millis) {
      return new Page(details, reviews, version, ratings, millis);
    }

    /** How the reviews part looked: {@code v1}, {@code v2}, {@code v3}, or {@code unavailable}. */
    String reviewsShown() {
      return reviews.equals("ok") ? version : reviews;
    }
  }

  /** Pages read for one user. */
  public record Traffic(String user, List<Page> pages) {
    public double percent(Predicate<Page> which) {
      return pages.isEmpty() ? 0 : 100.0 * pages.stream().filter(which).count() / pages.size();
    }

    public double percentOf(String reviewsShown) {
      return percent(page -> page.reviewsShown().equals(reviewsShown));
    }

    public long maxMillis() {
      return pages.stream().mapToLong(Page::millis).max().orElse(0);
    }

    public long minMillis() {
      return pages.stream().mapToLong(Page::millis).min().orElse(0);
    }

    /** {@code v1 52%, v3 48%} */
    String reviewsSummary() {
      Map<String, Integer> counts = new TreeMap<>();
      pages.forEach(page -> counts.merge(page.reviewsShown(), 1, Integer::sum));
      List<String> parts = new ArrayList<>();
      counts.forEach((shown, count) -> parts.add(shown + " " + Math.round(100.0 * count / pages.size()) + "%"));
      return String.join(", ", parts);
    }
  }

  /** One step: what it applied, what it saw, and whether that is what the config says. */
  public record Result(int step, String title, List<String> applied, Traffic anonymous, Traffic jason,
      List<String> checks, List<String> failures) {
    public boolean passed() {
      return failures.isEmpty();
    }
  }

  public List<Result> run() throws IOException, InterruptedException {
    List<Result> results = new ArrayList<>();
    results.add(allV1());
    results.add(fiftyFifty());
    results.add(jasonToV2());
    results.add(delayForJason());
    results.add(abortForJason());
    results.add(strictMtls());
    results.add(denyDetails());
    results.add(endUserAuthentication());
    results.add(requirePrincipalAtTheGateway());
    long failed = results.stream().filter(r -> !r.passed()).count();
    out.println(failed == 0 ? "\nTour complete: every step did what its config says."
        : "\nTOUR FAILED: " + failed + " step(s) did not do what their config says.");
    return results;
  }

  Result allV1() throws IOException, InterruptedException {
    Step step = new Step(1, "all traffic to v1", "destination-rule-all.yaml", "virtual-service-all-v1.yaml");
    Traffic anonymous = step.read(null, PAGES);
    step.expect(anonymous.percentOf("v1") == 100, "every page shows reviews v1 (no stars)", anonymous);
    return step.done(anonymous, null);
  }

  Result fiftyFifty() throws IOException, InterruptedException {
    Step step = new Step(2, "50/50 between reviews v1 and v3", "virtual-service-reviews-50-v3.yaml");
    Traffic anonymous = step.read(null, SPLIT_PAGES);
    step.expect(Math.abs(anonymous.percentOf("v1") - 50) <= TOLERANCE_POINTS
        && Math.abs(anonymous.percentOf("v3") - 50) <= TOLERANCE_POINTS, "v1 and v3 each 50% ± 5 points", anonymous);
    return step.done(anonymous, null);
  }

  Result jasonToV2() throws IOException, InterruptedException {
    Step step = new Step(3, "user jason to reviews v2, everyone else to v3", "virtual-service-reviews-jason-v2-v3.yaml");
    Traffic jason = step.read("jason", PAGES);
    Traffic anonymous = step.read(null, PAGES);
    step.expect(jason.percentOf("v2") == 100, "jason sees v2 (black stars) on every page", jason);
    step.expect(anonymous.percentOf("v3") == 100, "everyone else sees v3 (red stars)", anonymous);
    return step.done(anonymous, jason);
  }

  Result delayForJason() throws IOException, InterruptedException {
    Step step = new Step(4, "a 2 s ratings delay for jason, and a 1 s timeout on jason's reviews calls",
        "virtual-service-ratings-test-delay.yaml", "virtual-service-reviews-jason-timeout.yaml");
    Traffic jason = step.read("jason", 5);
    Traffic anonymous = step.read(null, PAGES);
    step.expect(jason.percentOf("unavailable") == 100 && jason.minMillis() >= 900 && jason.maxMillis() < 2000,
        "jason's reviews time out after 1 s, before the 2 s delay ends (pages took " + jason.minMillis() + "–"
            + jason.maxMillis() + " ms)", jason);
    step.expect(anonymous.percentOf("v3") == 100 && anonymous.percent(p -> p.ratings().equals("ok")) == 100,
        "everyone else is not delayed and sees v3 with ratings", anonymous);
    return step.done(anonymous, jason);
  }

  Result abortForJason() throws IOException, InterruptedException {
    Step step = new Step(5, "ratings fail for jason (HTTP 500 abort)", "virtual-service-ratings-test-abort.yaml",
        "virtual-service-reviews-jason-v2-v3.yaml");
    Traffic jason = step.read("jason", PAGES);
    Traffic anonymous = step.read(null, PAGES);
    step.expect(jason.percentOf("v2") == 100 && jason.percent(p -> p.ratings().equals("unavailable")) == 100,
        "every one of jason's pages says \"" + Reviews.UNAVAILABLE + "\"", jason);
    step.expect(anonymous.percent(p -> p.ratings().equals("ok")) == 100, "everyone else still sees ratings", anonymous);
    return step.done(anonymous, jason);
  }

  Result strictMtls() throws IOException, InterruptedException {
    Step step = new Step(6, "mutual TLS STRICT, mesh-wide", "peer-authentication-strict.yaml");
    Traffic anonymous = step.read(null, PAGES);
    step.expect(anonymous.percent(p -> p.details().equals("ok") && p.reviews().equals("ok")) == 100,
        "the product page still works: the gateway and the workloads speak mTLS on their own", anonymous);
    for (String workload : List.of("productpage", "details")) {
      String plaintext = plaintextTo(workload);
      step.check("plaintext GET straight to " + workload + "'s port, around the gateway: " + plaintext);
      step.expect(!plaintext.startsWith("200"), "plaintext from outside the mesh is refused by " + workload, null);
    }
    return step.done(anonymous, null);
  }

  Result denyDetails() throws IOException, InterruptedException {
    Step step = new Step(7, "an AuthorizationPolicy denies productpage's calls to details",
        "authorization-policy-deny-details.yaml");
    Traffic anonymous = step.read(null, PAGES);
    step.expect(anonymous.percent(p -> p.details().equals("error")) == 100,
        "every page says \"" + ProductPage.DETAILS_ERROR + "\"", anonymous);
    step.expect(anonymous.percent(p -> p.reviews().equals("ok")) == 100, "reviews are still allowed", anonymous);
    return step.done(anonymous, null);
  }

  Result endUserAuthentication() throws IOException, InterruptedException {
    Step step = new Step(8, "end-user authentication at the ingress gateway: a RequestAuthentication with the demo's JWKS",
        "request-authentication-gateway.yaml");
    EndUsers users = bookinfo.endUsers();
    String valid = step.call("a valid token of " + EndUsers.ISSUER + " (sub jason)", users.token("jason"));
    String forged = step.call("a token signed by another key", users.forgedToken("jason"));
    String none = step.call("no token", null);
    step.expect(valid.startsWith("200"), "a valid token passes", null);
    step.expect(forged.startsWith("401"), "an invalid token is refused with 401 at the gateway", null);
    step.expect(none.startsWith("200"), "a request without a token still passes: authentication alone requires none", null);
    return step.done(null, null);
  }

  Result requirePrincipalAtTheGateway() throws IOException, InterruptedException {
    Step step = new Step(9, "an AuthorizationPolicy at the ingress gateway requires a request principal",
        "authorization-policy-gateway-require-jwt.yaml");
    EndUsers users = bookinfo.endUsers();
    String none = step.call("no token", null);
    String forged = step.call("a token signed by another key", users.forgedToken("jason"));
    String valid = step.call("a valid token (sub jason)", users.token("jason"));
    step.expect(none.equals("403 RBAC: access denied"), "no token: 403 \"RBAC: access denied\"", null);
    step.expect(forged.startsWith("401"), "an invalid token: still 401, authentication answers first", null);
    step.expect(valid.startsWith("200"), "a valid token: 200, the page served", null);
    return step.done(null, null);
  }

  /** A plain HTTP request to a workload's own port from outside the mesh: its status, or why it failed. */
  String plaintextTo(String workload) throws InterruptedException {
    URI uri = URI.create("http://127.0.0.1:" + bookinfo.targetPort(workload)
        + (workload.equals("details") ? "/details/0" : "/productpage"));
    try {
      HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri)
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      return response.statusCode() + " " + response.body().lines().findFirst().orElse("");
    } catch (IOException e) {
      return "refused (" + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")";
    }
  }

  /** The product page through the gateway with {@code token} as the bearer (null: none): the status and the body's first line when not 200. */
  String withToken(String token) throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(bookinfo.productPage()).timeout(Duration.ofSeconds(15));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> response = browser.send(request.build(), HttpResponse.BodyHandlers.ofString());
    return response.statusCode() == 200 ? "200 " + Page.parse(response.body()).reviewsShown()
        : response.statusCode() + " " + response.body().lines().findFirst().orElse("");
  }

  /** The product page as {@code user} (null: anonymous) sees it. */
  Page page(String user) throws IOException, InterruptedException {
    URI uri = user == null ? bookinfo.productPage() : URI.create(bookinfo.productPage() + "?u=" + user);
    long start = System.nanoTime();
    HttpResponse<String> response = browser.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(15)).build(),
        HttpResponse.BodyHandlers.ofString());
    long millis = (System.nanoTime() - start) / 1_000_000;
    if (response.statusCode() != 200) {
      return new Page("missing", "missing", "", "none", millis);
    }
    return Page.parse(response.body()).took(millis);
  }

  private final class Step {
    final int number;
    final String title;
    final List<String> files;
    final List<String> checks = new ArrayList<>();
    final List<String> failures = new ArrayList<>();

    Step(int number, String title, String... files) {
      this.number = number;
      this.title = title;
      this.files = List.of(files);
      out.printf("%nStep %d: %s%n", number, title);
      for (String file : files) {
        bookinfo.apply(file);
        out.printf("  applied %s  (%s)%n", file, Bookinfo.templated(file)
            ? "its jwks is the JWK Set of the key this demo made at start"
            : "bin/meshctl apply -f examples/src/main/resources/bookinfo/" + file);
      }
    }

    Traffic read(String user, int pages) throws IOException, InterruptedException {
      List<Page> seen = new ArrayList<>();
      for (int i = 0; i < pages; i++) {
        seen.add(page(user));
      }
      Traffic traffic = new Traffic(user == null ? "anonymous" : user, seen);
      Map<String, Integer> details = new TreeMap<>();
      seen.forEach(page -> details.merge(page.details(), 1, Integer::sum));
      Map<String, Integer> ratings = new TreeMap<>();
      seen.forEach(page -> ratings.merge(page.ratings(), 1, Integer::sum));
      out.printf("  %-9s %4d pages: reviews %s; ratings %s; details %s; slowest %d ms%n", traffic.user(), pages,
          traffic.reviewsSummary(), ratings, details, traffic.maxMillis());
      return traffic;
    }

    /** Reads the product page through the gateway with {@code token} (null: none), and prints what it answered. */
    String call(String what, String token) throws IOException, InterruptedException {
      String answer = withToken(token);
      check(String.format("%-40s %s", what + ":", answer));
      return answer;
    }

    void check(String line) {
      checks.add(line);
      out.println("  " + line);
    }

    void expect(boolean holds, String what, Traffic traffic) {
      checks.add(what);
      if (!holds) {
        failures.add(what + (traffic == null ? "" : " — saw " + traffic.user() + ": " + traffic.reviewsSummary()));
      }
      out.printf("  %s %s%n", holds ? "ok  " : "FAIL", what);
    }

    Result done(Traffic anonymous, Traffic jason) {
      return new Result(number, title, files, anonymous, jason, List.copyOf(checks), List.copyOf(failures));
    }
  }
}
