package dev.inmesh.examples.bookinfo;

import dev.inmesh.Mesh;
import dev.inmesh.ca.CertificateAuthority;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.control.api.OperatorCredential;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.grpc.MeshGrpc;
import dev.inmesh.http.server.MeshHttpServer;
import dev.inmesh.testing.Await;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import java.io.IOException;
import java.io.InputStream;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * Istio's Bookinfo on Inmesh, in one JVM on loopback: mesh-control with its embedded CA, and six
 * workloads, each a {@link Mesh} with its own SPIFFE identity ({@code default/bookinfo-<app>}),
 * speaking what Istio's Bookinfo speaks: {@code productpage}, {@code details}, {@code reviews} v1,
 * v2 and v3 and {@code ratings}, all HTTP on port 9080, each behind its inbound door, calling one
 * another through annotated Retrofit interfaces ({@code GET /details/0}, {@code GET /reviews/0},
 * {@code GET /ratings/0}). Browsers come in through Istio's ingress gateway, mesh-gateway as the
 * workload {@code istio-system/istio-ingressgateway} ({@link IngressGateway}), bound by
 * {@code bookinfo-gateway.yaml} (HTTP, 8080) and {@code bookinfo-gateway-https.yaml} (HTTPS, 443
 * served on 8443): it calls productpage over mesh mTLS as its own identity, so productpage's
 * AuthorizationPolicies see the gateway as the caller, as in Istio. ratings also serves its ratings as a gRPC service on port
 * 9090 (mesh-grpc's permissive server, which takes plaintext and mTLS on one port), which reviews
 * v2 holds a proxyless gRPC channel to; no Istio task depends on it, and {@code bin/demo check} calls it once. Beside them runs Istio's
 * {@code httpbin} sample ({@link Httpbin}, port 8000), v1 and v2 as Istio's mirroring task deploys it, for the tasks that call it.
 *
 * <p>{@code bin/demo} runs it and prints the URLs; {@code bin/demo tour} walks through Istio's
 * traffic and security tasks ({@link Tour}); {@code bin/demo check} starts it, reads the product
 * page once through the gateway, over HTTP and HTTPS, and exits 0 when the page is whole.
 */
public final class Bookinfo implements AutoCloseable {
  static final String NAMESPACE = "default";
  static final int SERVICE_PORT = 9080;
  static final Duration WAIT = Duration.ofSeconds(30);
  private static final String RESOURCES = "/bookinfo/";
  private static final String JWKS = "'JWKS'";

  /**
   * Where Bookinfo listens: the ingress gateway's HTTP and HTTPS ports for browsers, and
   * mesh-control's xDS and HTTP (dashboard) ports; 0 picks one. The fixed ports write the demo's
   * admin credential where meshctl looks for one by default, so that {@code bin/meshctl} works as
   * it is; free ports write it to a temporary file, so that a test run leaves the operator's own
   * credential alone.
   */
  public record Ports(int gatewayHttp, int gatewayHttps, int xds, int http) {
    /** The ports of Istio's ingress gateway pod, 8080 and 8443; xDS on 15010, the dashboard on 15014. */
    public static Ports defaults() {
      return new Ports(8080, 8443, 15010, 15014);
    }

    public static Ports ephemeral() {
      return new Ports(0, 0, 0, 0);
    }

    boolean fixed() {
      return xds != 0 && http != 0;
    }
  }

  private final MeshControl control;
  private final List<AutoCloseable> parts = new ArrayList<>();
  private final Map<String, Integer> targetPorts = new LinkedHashMap<>();
  private final Map<String, Httpbin> httpbins = new LinkedHashMap<>();
  private final ExecutorService handlers = Executors.newCachedThreadPool(daemon());
  private final EndUsers endUsers = EndUsers.create();
  private ManagedChannel ratingsOverGrpc;
  private IngressGateway gateway;

  private Bookinfo(MeshControl control) {
    this.control = control;
  }

  /** Starts mesh-control and every workload, and returns once the product page can be served. */
  public static Bookinfo start(Ports ports) throws IOException {
    // the gateway's ports are checked before anything starts, so that a taken one is said at once
    IngressGateway.requireFree(ports.gatewayHttp(), "--port");
    IngressGateway.requireFree(ports.gatewayHttps(), "--https-port");
    MeshControlOptions options = MeshControlOptions.ephemeral().withPorts(ports.xds(), ports.http())
        .withGracePeriod(Duration.ofSeconds(5)).withPollInterval(Duration.ofMillis(200));
    if (ports.fixed()) {
      options = options.withApi(options.api().withCredentialFile(credentialFile(ports)));
    }
    MeshControl control = MeshControl.start(options);
    Bookinfo bookinfo = new Bookinfo(control);
    try {
      bookinfo.startWorkloads();
      bookinfo.startGateway(ports);
      return bookinfo;
    } catch (IOException | RuntimeException e) {
      bookinfo.close();
      throw e;
    }
  }

  private void startWorkloads() throws IOException {
    Mesh details = mesh("details", "v1", "http");
    serve(details, "details", Details::handle);

    // ratings speaks HTTP on 9080 as Istio's does, and keeps its gRPC service on 9090 for reviews v2's
    // proxyless gRPC channel. Its server takes plaintext and mTLS under PERMISSIVE, which grpc-java's
    // own xDS server cannot: Istio's all-mTLS DestinationRule turns mTLS on for every ratings port
    int ratingsGrpcPort = freePort();
    Mesh ratings = mesh("ratings", "v1", "http", freePort(),
        builder -> builder.servePort("grpc", Ratings.GRPC_PORT, ratingsGrpcPort));
    serve(ratings, "ratings", Ratings::handle);
    Server ratingsServer = MeshGrpc.permissiveServer(ratings, ratingsGrpcPort, Ratings.service()).start();
    parts.add(() -> ratingsServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    targetPorts.put("ratings-grpc", ratingsGrpcPort);

    for (String version : List.of("v1", "v2", "v3")) {
      Mesh reviews = mesh("reviews", version, "http");
      serve(reviews, "reviews-" + version, new Reviews(version, reviews)::handle);
      if (version.equals("v2")) {
        ratingsOverGrpc = MeshGrpc.channel(reviews, "ratings:" + Ratings.GRPC_PORT);
        ManagedChannel channel = ratingsOverGrpc;
        parts.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
      }
    }

    // not Bookinfo's: the httpbin of Istio's samples (port 8000), v1 and v2, which the circuit-breaking and mirroring tasks call
    for (String version : List.of("v1", "v2")) {
      Httpbin httpbin = new Httpbin();
      httpbins.put(version, httpbin);
      serve(mesh("httpbin", version, "http"), "httpbin-" + version, httpbin::handle);
    }

    Mesh productpage = mesh("productpage", "v1", "http");
    serve(productpage, "productpage", new ProductPage(productpage)::handle);

    Await.until(() -> control.workloads().size() == 8, WAIT, "the six Bookinfo workloads and httpbin v1 and v2 to register",
        () -> control.workloads().stream().map(w -> w.metadata().service() + " " + w.metadata().labels().get("version")).toList().toString());
    awaitConverged();
  }

  /** Starts the ingress gateway, binds it with the Bookinfo Gateways, and waits until it serves the product page. */
  private void startGateway(Ports ports) throws IOException {
    CertificateAuthority ca = control.ca().orElseThrow();
    gateway = IngressGateway.start(builder -> builder.controlServers("127.0.0.1:" + control.xdsPort())
        .certificateAuthority("127.0.0.1:" + control.caGrpcPort(), ca.trustBundle().toPem(), ca.joinTokens()
            .create(IngressGateway.NAMESPACE, IngressGateway.SERVICE_ACCOUNT, Duration.ofDays(1)).value())
        .readyTimeout(WAIT), ports.gatewayHttp(), ports.gatewayHttps());
    parts.add(gateway);
    apply("bookinfo-gateway.yaml");
    apply("bookinfo-gateway-https.yaml");
    Await.until(() -> gateway.localPort(IngressGateway.HTTP_PORT).isPresent()
        && gateway.localPort(IngressGateway.HTTPS_PORT).isPresent(), WAIT, "the gateway to open ports 8080 and 443");
    Await.until(() -> status(productPage()) == 200, WAIT, "the gateway to serve the product page");
  }

  /** A GET's status, or -1 when it found no answer. */
  private int status(URI uri) {
    try {
      return browser().send(HttpRequest.newBuilder(uri)
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** A workload's Mesh: its service, version label, SPIFFE identity (service account bookinfo-app) and port 9080. */
  private Mesh mesh(String app, String version, String portName) {
    return mesh(app, version, portName, freePort(), builder -> builder);
  }

  /** A workload's Mesh serving 9080 on {@code port}, and whatever else {@code more} adds. */
  private Mesh mesh(String app, String version, String portName, int port, UnaryOperator<Mesh.Builder> more) {
    CertificateAuthority ca = control.ca().orElseThrow();
    String serviceAccount = "bookinfo-" + app;
    String token = ca.joinTokens().create(NAMESPACE, serviceAccount, Duration.ofDays(1)).value();
    targetPorts.put(app.equals("reviews") || app.equals("httpbin") ? app + "-" + version : app, port);
    Mesh mesh = more.apply(Mesh.builder()
        .controlServers("127.0.0.1:" + control.xdsPort())
        .namespace(NAMESPACE).service(app).serviceAccount(serviceAccount)
        .label("app", app).label("version", version)
        .servePort(portName, app.equals("httpbin") ? Httpbin.PORT : SERVICE_PORT, port)
        .certificateAuthority("127.0.0.1:" + control.caGrpcPort(), ca.trustBundle().toPem(), token)
        .readyTimeout(WAIT))
        .build();
    parts.add(mesh);
    return mesh;
  }

  private void serve(Mesh mesh, String workload, com.sun.net.httpserver.HttpHandler handler) throws IOException {
    MeshHttpServer server = MeshHttpServer.create(mesh, targetPorts.get(workload));
    server.createContext("/", handler);
    server.setExecutor(handlers);
    server.start();
    parts.add(server);
  }

  public MeshControl control() {
    return control;
  }

  /** The product page, as a browser opens it: through the ingress gateway's HTTP port. */
  public URI productPage() {
    return URI.create("http://localhost:" + gateway.localPort(IngressGateway.HTTP_PORT).orElseThrow() + "/productpage");
  }

  /** The product page over HTTPS, through the ingress gateway, with the certificate of {@link #certificate()}. */
  public URI productPageTls() {
    return URI.create("https://localhost:" + gateway.localPort(IngressGateway.HTTPS_PORT).orElseThrow() + "/productpage");
  }

  /** The certificate the gateway's HTTPS port presents (PEM), made when the demo started. */
  public Path certificate() {
    return gateway.certificate();
  }

  /** An HTTP client that trusts the gateway's HTTPS certificate, as {@code curl --cacert} does. */
  HttpClient browser() {
    return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).sslContext(gateway.trust()).build();
  }

  IngressGateway gateway() {
    return gateway;
  }

  EndUsers endUsers() {
    return endUsers;
  }

  /** mesh-control's live dashboard. */
  public URI dashboard() {
    return URI.create("http://127.0.0.1:" + control.httpPort() + "/dashboard");
  }

  /**
   * Where the demo's admin credential goes: meshctl's default file, unless that holds a credential
   * for another server, which the demo leaves alone.
   */
  private static Path credentialFile(Ports ports) {
    Path standard = OperatorCredential.defaultPath();
    if (Files.exists(standard)) {
      try {
        if (!OperatorCredential.read(standard).server().equals("http://127.0.0.1:" + ports.http())) {
          return standard.resolveSibling("bookinfo-credential");
        }
      } catch (IOException e) {
        return standard.resolveSibling("bookinfo-credential");
      }
    }
    return standard;
  }

  /** The admin credential this demo's mesh-control made, and the file meshctl reads it from. */
  public Path credentialFile() {
    return control.adminCredentialFile().orElseThrow();
  }

  /**
   * The port a workload's server listens on behind its door: {@code productpage},
   * {@code details}, {@code reviews-v2}, {@code ratings}, {@code ratings-grpc}, {@code httpbin-v1}…
   */
  public int targetPort(String workload) {
    Integer port = targetPorts.get(workload);
    if (port == null) {
      throw new IllegalArgumentException("no workload " + workload + "; there are " + targetPorts.keySet());
    }
    return port;
  }

  /** httpbin {@code v1} or {@code v2}, whose access log shows the requests it answered. */
  Httpbin httpbin(String version) {
    Httpbin httpbin = httpbins.get(version);
    if (httpbin == null) {
      throw new IllegalArgumentException("no httpbin " + version + "; there are " + httpbins.keySet());
    }
    return httpbin;
  }

  /**
   * Applies one of the example's YAML files to mesh-control and waits until every client has ACKed
   * it; a {@linkplain #templated templated} file gets this demo's JWK Set.
   */
  public ApplyResult apply(String file) {
    String yaml = resource(file);
    ApplyResult result = control.apply(file, templated(file) ? yaml.replace(JWKS, "'" + endUsers.jwks() + "'") : yaml);
    if (!result.errors().isEmpty()) {
      throw new IllegalStateException(file + " was refused: "
          + result.errors().stream().map(Problem::toString).collect(Collectors.joining("; ")));
    }
    awaitConverged();
    return result;
  }

  /** Whether a file holds {@value #JWKS} where the JWK Set of the key the demo makes at start goes. */
  static boolean templated(String file) {
    return resource(file).contains(JWKS);
  }

  /** The text of one of the example's YAML files. */
  static String resource(String file) {
    try (InputStream in = Bookinfo.class.getResourceAsStream(RESOURCES + file)) {
      if (in == null) {
        throw new IllegalArgumentException("no file " + file + " in the Bookinfo example");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void awaitConverged() {
    Await.until(control::converged, WAIT, "every Bookinfo workload to ACK the config");
  }

  @Override
  public void close() {
    for (int i = parts.size() - 1; i >= 0; i--) {
      try {
        parts.get(i).close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        // closing the rest matters more than one part's failure to close
        System.err.println("closing " + parts.get(i) + ": " + e);
      }
    }
    handlers.shutdownNow();
    control.close();
  }

  public static void main(String[] args) throws Exception {
    String command = "run";
    Ports ports = Ports.defaults();
    String usage = "usage: bin/demo [run|tour|check] [--port 8080] [--https-port 8443] [--ephemeral]";
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "run", "tour", "check" -> command = args[i];
        case "--port" -> ports = new Ports(Integer.parseInt(value(args, ++i)), ports.gatewayHttps(), ports.xds(), ports.http());
        case "--https-port" -> ports = new Ports(ports.gatewayHttp(), Integer.parseInt(value(args, ++i)), ports.xds(), ports.http());
        case "--ephemeral" -> ports = Ports.ephemeral();
        case "-h", "--help" -> {
          System.out.println(usage);
          return;
        }
        default -> {
          System.err.println("unknown argument " + args[i] + "; " + usage);
          System.exit(2);
        }
      }
    }
    System.exit(run(command, ports, System.out));
  }

  /** Runs a command and returns the exit status. */
  static int run(String command, Ports ports, PrintStream out) throws Exception {
    out.println("Starting Bookinfo: mesh-control with its CA, productpage, details, reviews v1/v2/v3, ratings"
        + " (HTTP, and gRPC on 9090), and the ingress gateway (mesh-gateway, istio-system/istio-ingressgateway)...");
    try (Bookinfo bookinfo = start(ports)) {
      out.println("Product page: " + bookinfo.productPage() + "  (through the ingress gateway, bound by bookinfo-gateway.yaml)");
      out.println("              " + bookinfo.productPageTls() + "  (its certificate, made at start: curl --cacert "
          + bookinfo.certificate() + " ...)");
      // the token rides in the URL's fragment, which the browser keeps to itself; the page then drops it from the address
      out.println("Dashboard:    " + bookinfo.dashboard() + "#token=" + bookinfo.control().adminCredential().orElseThrow().token());
      out.println("meshctl:      the admin credential is in " + bookinfo.credentialFile()
          + (bookinfo.credentialFile().equals(OperatorCredential.defaultPath()) ? " (bin/meshctl reads it from there)"
              : " (bin/meshctl --credential " + bookinfo.credentialFile() + " ...)"));
      switch (command) {
        case "check" -> {
          return check(bookinfo, out) ? 0 : 1;
        }
        case "tour" -> {
          List<Tour.Result> results = new Tour(bookinfo, out).run();
          return results.stream().allMatch(Tour.Result::passed) ? 0 : 1;
        }
        default -> {
          out.println("Sign in as jason: " + bookinfo.productPage().resolve("/login?user=jason"));
          out.println("Apply config with: bin/meshctl"
              + (bookinfo.credentialFile().equals(OperatorCredential.defaultPath()) ? "" : " --credential " + bookinfo.credentialFile())
              + " apply -f examples/src/main/resources/bookinfo/virtual-service-all-v1.yaml");
          out.println("Press Ctrl-C to stop.");
          CountDownLatch stopped = new CountDownLatch(1);
          Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown));
          stopped.await();
          return 0;
        }
      }
    }
  }

  /**
   * Reads the product page once through the gateway over HTTP and once over HTTPS: details and
   * reviews must both be there; and calls ratings once over proxyless gRPC from reviews v2.
   */
  static boolean check(Bookinfo bookinfo, PrintStream out) throws IOException, InterruptedException {
    boolean whole = true;
    HttpClient browser = bookinfo.browser();
    for (URI uri : List.of(bookinfo.productPage(), bookinfo.productPageTls())) {
      HttpResponse<String> response = browser.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      Tour.Page page = Tour.Page.parse(response.body());
      whole &= response.statusCode() == 200 && page.details().equals("ok") && page.reviews().equals("ok");
      out.printf("GET %s: %d, details %s, reviews %s (%s)%n", uri, response.statusCode(), page.details(),
          page.reviews(), page.version());
    }
    String grpc = bookinfo.ratingsOverGrpc();
    boolean grpcAnswered = grpc.startsWith("OK");
    out.println("gRPC " + Ratings.SERVICE + "/GetRatings from reviews-v2 to ratings:" + Ratings.GRPC_PORT + ": " + grpc);
    out.println(whole && grpcAnswered ? "Bookinfo works." : "CHECK FAILED: " + (whole ? "" : "the product page is not whole")
        + (whole || grpcAnswered ? "" : "; ") + (grpcAnswered ? "" : "ratings did not answer over gRPC"));
    return whole && grpcAnswered;
  }

  /**
   * One call to ratings' gRPC service over reviews v2's proxyless channel: {@code OK} and the
   * reviewers rated, or the call's status.
   */
  String ratingsOverGrpc() {
    try {
      com.google.protobuf.Struct answer = io.grpc.stub.ClientCalls.blockingUnaryCall(ratingsOverGrpc, Ratings.GET_RATINGS,
          io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), Ratings.request(0));
      return "OK " + answer.getFieldsOrThrow("ratings").getStructValue().getFieldsCount() + " ratings";
    } catch (io.grpc.StatusRuntimeException e) {
      return e.getStatus().getCode() + (e.getStatus().getDescription() == null ? "" : " " + e.getStatus().getDescription());
    }
  }

  private static String value(String[] args, int i) {
    if (i >= args.length) {
      throw new IllegalArgumentException(args[i - 1] + " needs a value");
    }
    return args[i];
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static java.util.concurrent.ThreadFactory daemon() {
    return runnable -> {
      Thread thread = new Thread(runnable, "bookinfo-handler");
      thread.setDaemon(true);
      return thread;
    };
  }
}
