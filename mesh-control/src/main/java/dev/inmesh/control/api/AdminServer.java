package dev.inmesh.control.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.analyze.Finding;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.ResourceKey;
import dev.inmesh.control.explain.ExplainRequest;
import dev.inmesh.control.explain.RequestExplanation;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.control.source.ConfigController;
import dev.inmesh.control.translate.ClientProfile;
import dev.inmesh.control.xds.ClientConfig;
import dev.inmesh.control.xds.ClientStatus;
import dev.inmesh.control.xds.ResourceJson;
import dev.inmesh.control.xds.Rollout;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * mesh-control's HTTP API:
 * <ul>
 *   <li>{@code POST /apis/apply} (YAML body): create or replace resources; 200 when applied, 400
 *       with every error otherwise; warnings either way; the {@code generation} that numbers the
 *       change, when it made one.
 *   <li>{@code GET /apis/rollout?generation=N} (the newest change without it): how far that change
 *       has reached the clients: per affected client ACKed, NACKed (with its reason) or pending.
 *   <li>{@code POST /apis/delete} (YAML body naming resources) or {@code DELETE /apis/Kind/ns/name}.
 *   <li>{@code GET /apis/resources}: what is in force; {@code GET /apis/status}: the problems of
 *       every source and of translation.
 *   <li>{@code GET /debug/clients}: connected ADS clients, their service, ACKed versions and last NACK;
 *       {@code GET /debug/registry}; {@code GET /debug/config_dump?profile=key} or {@code ?namespace=ns} (a client profile's snapshot)
 *       or {@code ?client=node-id-prefix} (what that client holds, at the versions it ACKed).
 *   <li>{@code GET /apis/analyze}: meshctl analyze over the live config and registry;
 *       {@code GET /apis/describe/Kind/ns/name}; {@code POST /debug/explain}: a request explained
 *       over what one client holds.
 *   <li>{@code GET /healthz}, {@code GET /readyz}.
 *   <li>{@code GET /dashboard}, the dashboard's page, and {@code GET /dashboard/assets/dagre.min.js},
 *       its graph layout script ({@link DashboardAssets}); {@code GET /debug/graph}, the service
 *       graph it draws ({@link ServiceGraph}).
 * </ul>
 */
public final class AdminServer implements AutoCloseable {
  static {
    dev.inmesh.commons.internal.JdkHttpServers.boundedRequests();
  }

  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** The largest request body read; config files are far smaller. */
  static final int MAX_BODY_BYTES = 4 << 20;
  /** Content types that a browser's form or a no-preflight fetch can send across sites. */
  private static final java.util.Set<String> BROWSER_SENDABLE =
      java.util.Set.of("text/plain", "application/x-www-form-urlencoded", "multipart/form-data");
  private static final Logger audit = LoggerFactory.getLogger("inmesh.audit");

  private final HttpServer server;
  private final MeshControl control;
  private final ApiCredentials credentials;
  private final java.util.concurrent.ExecutorService executor;

  private AdminServer(HttpServer server, MeshControl control, ApiCredentials credentials,
      java.util.concurrent.ExecutorService executor) {
    this.server = server;
    this.control = control;
    this.credentials = credentials;
    this.executor = executor;
  }

  /**
   * Serves the API on {@code address}: over TLS when {@code tls} is given (mesh-control insists on
   * it beyond loopback), to callers that present one of {@code credentials}.
   */
  public static AdminServer start(InetSocketAddress address, MeshControl control, ApiCredentials credentials,
      java.util.Optional<javax.net.ssl.SSLContext> tls) throws IOException {
    HttpServer server;
    if (tls.isPresent()) {
      com.sun.net.httpserver.HttpsServer https = com.sun.net.httpserver.HttpsServer.create(address, 0);
      https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(tls.get()));
      server = https;
    } else {
      server = HttpServer.create(address, 0);
    }
    java.util.concurrent.ExecutorService executor = Executors.newFixedThreadPool(4, r -> {
      Thread thread = new Thread(r, "inmesh-admin");
      thread.setDaemon(true);
      return thread;
    });
    AdminServer admin = new AdminServer(server, control, credentials, executor);
    server.createContext("/", admin::handle);
    server.setExecutor(executor);
    server.start();
    return admin;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /**
   * The role a call needs; empty for the calls anyone may make: health, readiness, metrics (as
   * istiod serves them on 15014) and the dashboard's page and scripts, which hold no data of their own.
   */
  static java.util.Optional<Role> needed(String method, String path) {
    return switch (method + " " + path) {
      case "GET /healthz", "GET /readyz", "GET /metrics", "GET /dashboard", "GET /" -> java.util.Optional.empty();
      case "GET " + DashboardAssets.LAYOUT -> java.util.Optional.empty();
      case "POST /apis/tokens", "POST /apis/ca/rotate" -> java.util.Optional.of(Role.ADMIN);
      case "POST /apis/apply", "POST /apis/delete" -> java.util.Optional.of(Role.EDITOR);
      default -> java.util.Optional.of(method.equals("DELETE") ? Role.EDITOR : Role.VIEWER);
    };
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      String path = exchange.getRequestURI().getPath();
      exchange.getResponseHeaders().set("Cache-Control", "no-store");
      exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
      java.util.Optional<Role> needed = needed(method, path);
      if (needed.isEmpty()) {
        route(exchange, method, path);
        return;
      }
      java.util.Optional<ApiCredentials.Caller> caller = authorize(exchange, method, path, needed.get());
      if (caller.isEmpty() || (!method.equals("GET") && !acceptableBody(exchange, method, path))) {
        return;
      }
      route(exchange, method, path);
      if (!method.equals("GET")) {
        audit.info("{} ({}) {} {} -> {}", caller.get().name(), caller.get().role().label(), method, path,
            exchange.getResponseCode());
      }
    }
  }

  /** The caller when it may make this call; otherwise the 401 or 403 is sent and empty returned. */
  private java.util.Optional<ApiCredentials.Caller> authorize(HttpExchange exchange, String method, String path, Role needed)
      throws IOException {
    String header = exchange.getRequestHeaders().getFirst("Authorization");
    if (header == null || header.length() <= 7 || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"mesh-control\"");
      json(exchange, 401, Map.of("error", method + " " + path + " needs a credential with role " + needed.label()
          + " or above: send 'Authorization: Bearer <token>' (meshctl reads it from --credential, $MESHCTL_CREDENTIAL"
          + " or ~/.inmesh/credential)"));
      return java.util.Optional.empty();
    }
    java.util.Optional<ApiCredentials.Caller> caller = credentials.authenticate(header.substring(7).strip());
    if (caller.isEmpty()) {
      exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"mesh-control\", error=\"invalid_token\"");
      audit.warn("refused {} {} from {}: unknown bearer token", method, path, exchange.getRemoteAddress());
      json(exchange, 401, Map.of("error", "the bearer token is not one of this mesh-control's credentials"));
      return java.util.Optional.empty();
    }
    if (!caller.get().role().includes(needed)) {
      audit.warn("refused {} {} to {} ({}): needs {}", method, path, caller.get().name(), caller.get().role().label(),
          needed.label());
      json(exchange, 403, Map.of("error", "credential '" + caller.get().name() + "' has role " + caller.get().role().label()
          + "; " + method + " " + path + " needs " + needed.label()));
      return java.util.Optional.empty();
    }
    return caller;
  }

  /**
   * Refuses bodies in the content types a web page can send to another site without asking first
   * (text/plain, forms): a state change comes as YAML or JSON. Answers 415 and returns false then.
   */
  private static boolean acceptableBody(HttpExchange exchange, String method, String path) throws IOException {
    if (method.equals("DELETE")) {
      return true;
    }
    String type = exchange.getRequestHeaders().getFirst("Content-Type");
    String bare = type == null ? "" : type.split(";", 2)[0].strip().toLowerCase(java.util.Locale.ROOT);
    if (bare.isEmpty() || BROWSER_SENDABLE.contains(bare)) {
      json(exchange, 415, Map.of("error", method + " " + path + " takes application/yaml or application/json, got "
          + (type == null ? "no Content-Type" : "'" + type + "'") + "; bodies that a web form can send are refused"));
      return false;
    }
    return true;
  }

  private void route(HttpExchange exchange, String method, String path) throws IOException {
    try {
      switch (method + " " + path) {
        case "GET /healthz" -> text(exchange, 200, "ok\n");
        case "GET /metrics" -> text(exchange, 200, control.scrapeMetrics());
        case "GET /readyz" -> text(exchange, control.isReady() ? 200 : 503,
            control.notReadyReason().map(reason -> "not ready: " + reason + "\n").orElse("ready\n"));
        case "POST /apis/apply" -> applyResult(exchange, control.applyTracked("request", body(exchange)));
        case "POST /apis/delete" -> delete(exchange);
        case "GET /apis/resources" -> json(exchange, 200, control.resources().stream().map(AdminServer::resource).toList());
        case "GET /apis/status" -> json(exchange, 200, status());
        case "GET /apis/rollout" -> json(exchange, 200, rollout(control.rollout(generation(exchange.getRequestURI()))));
        case "GET /debug/clients" -> json(exchange, 200, control.clients().stream().map(this::client).toList());
        case "GET /apis/analyze" -> json(exchange, 200, Map.of("findings", control.analyze().stream().map(AdminServer::finding).toList()));
        case "POST /debug/explain" -> explain(exchange);
        case "GET /debug/registry" -> json(exchange, 200, control.workloads().stream().map(AdminServer::workload).toList());
        case "GET /debug/config_dump" -> configDump(exchange);
        case "GET /dashboard", "GET /" -> {
          exchange.getResponseHeaders().set("Content-Security-Policy", "frame-ancestors 'none'");
          exchange.getResponseHeaders().set("X-Frame-Options", "DENY");
          send(exchange, 200, "text/html; charset=utf-8", dashboard());
        }
        case "GET " + DashboardAssets.LAYOUT -> send(exchange, 200, DashboardAssets.JAVASCRIPT, DashboardAssets.layout());
        case "GET /debug/graph" -> json(exchange, 200, ServiceGraph.build(control.workloads(), control.xds().loadReports().edges()));
        case "GET /debug/certificates" -> json(exchange, 200, control.certificates());
        case "GET /debug/load" -> json(exchange, 200, control.xds().loadReports().edges().stream()
            .sorted(java.util.Comparator.comparing(dev.inmesh.control.xds.LoadReports.Edge::client)
                .thenComparing(dev.inmesh.control.xds.LoadReports.Edge::cluster))
            .map(AdminServer::edge).toList());
        case "POST /apis/tokens" -> createToken(exchange);
        case "GET /apis/ca/root" -> text(exchange, 200, caRoot());
        case "POST /apis/ca/rotate" -> rotateRoot(exchange);
        default -> {
          if (method.equals("GET") && path.startsWith("/apis/describe/")) {
            describe(exchange, ResourceKey.parse(path.substring("/apis/describe/".length())));
          } else if (method.equals("DELETE") && path.startsWith("/apis/")) {
            ResourceKey key = ResourceKey.parse(path.substring("/apis/".length()));
            applyResult(exchange, control.deleteTracked("DELETE " + path, List.of(key)));
          } else {
            json(exchange, 404, Map.of("error", "no such endpoint: " + method + " " + path));
          }
        }
      }
    } catch (BodyTooLargeException e) {
      json(exchange, 413, Map.of("error", e.getMessage()));
    } catch (java.util.NoSuchElementException e) {
      json(exchange, 404, Map.of("error", e.getMessage()));
    } catch (IllegalStateException e) {
      json(exchange, 409, Map.of("error", e.getMessage()));
    } catch (IllegalArgumentException e) {
      json(exchange, 400, Map.of("error", e.getMessage()));
    } catch (RuntimeException e) {
      log.error("{} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
      json(exchange, 500, Map.of("error", String.valueOf(e.getMessage())));
    }
  }

  private void delete(HttpExchange exchange) throws IOException {
    var parsed = dev.inmesh.control.config.ConfigParser.defaults().parse("request", body(exchange));
    if (parsed.hasErrors()) {
      applyResult(exchange, new MeshControl.Applied(new ApplyResult(false, List.of(), parsed.problems()),
          java.util.OptionalLong.empty()));
      return;
    }
    applyResult(exchange, control.deleteTracked("request", parsed.resources().stream().map(ConfigResource::key).toList()));
  }

  /** {@code {"namespace": "default", "serviceAccount": "reviews", "ttlSeconds": 3600}} → a join token. */
  private void createToken(HttpExchange exchange) throws IOException {
    var ca = control.ca().orElseThrow(() -> new IllegalArgumentException("the embedded CA is off (--ca none)"));
    var body = JSON.readTree(body(exchange));
    String namespace = body.path("namespace").asText("");
    String serviceAccount = body.path("serviceAccount").asText("");
    long ttl = body.path("ttlSeconds").asLong(3600);
    if (namespace.isEmpty() || serviceAccount.isEmpty()) {
      throw new IllegalArgumentException("namespace and serviceAccount are required");
    }
    var token = ca.joinTokens().create(namespace, serviceAccount, java.time.Duration.ofSeconds(ttl));
    Map<String, Object> reply = new LinkedHashMap<>();
    reply.put("token", token.value());
    reply.put("identity", token.identity().toString());
    reply.put("expiresAt", token.expiresAt().toString());
    json(exchange, 200, reply);
  }

  /**
   * One step of a root rotation, {@code {"step": "prepare" | "activate" | "retire"}}; wait one
   * certificate renewal (half a leaf lifetime) between steps. Answers the trust bundle's roots.
   */
  private void rotateRoot(HttpExchange exchange) throws IOException {
    var ca = control.ca().orElseThrow(() -> new IllegalArgumentException("the embedded CA is off (--ca none)"));
    String step = JSON.readTree(body(exchange)).path("step").asText("");
    try {
      switch (step) {
        case "prepare" -> ca.prepareRootRotation();
        case "activate" -> ca.activateNextRoot();
        case "retire" -> ca.retirePreviousRoot();
        default -> throw new IllegalArgumentException("step must be prepare, activate or retire, got '" + step + "'");
      }
    } catch (IllegalStateException e) {
      json(exchange, 409, Map.of("error", e.getMessage()));
      return;
    }
    Map<String, Object> reply = new LinkedHashMap<>();
    control.rootsChanged();
    reply.put("step", step);
    reply.put("signingRoot", ca.rootCertificate().getSerialNumber().toString(16));
    reply.put("trustedRoots", ca.trustBundle().roots().stream().map(r -> r.getSerialNumber().toString(16)).toList());
    json(exchange, 200, reply);
  }

  private String caRoot() {
    var ca = control.ca().orElseThrow(() -> new IllegalArgumentException("the embedded CA is off (--ca none)"));
    return ca.trustBundle().toPem();
  }

  private static Map<String, Object> edge(dev.inmesh.control.xds.LoadReports.Edge edge) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("client", edge.client());
    json.put("owner", edge.owner());
    json.put("cluster", edge.cluster());
    json.put("service", edge.service());
    json.put("succeeded", edge.succeeded());
    json.put("failed", edge.failed());
    json.put("inFlight", edge.inFlight());
    json.put("requestsPerSecond", edge.requestsPerSecond());
    json.put("errorsPerSecond", edge.errorsPerSecond());
    json.put("p50Millis", Double.isNaN(edge.p50Millis()) ? null : edge.p50Millis());
    json.put("p99Millis", Double.isNaN(edge.p99Millis()) ? null : edge.p99Millis());
    json.put("updatedAt", edge.updatedAt().toString());
    return json;
  }

  private void configDump(HttpExchange exchange) throws IOException {
    String clientId = query(exchange.getRequestURI(), "client", "");
    if (!clientId.isEmpty()) {
      clientDump(exchange, control.xds().held(control.xds().client(clientId)));
      return;
    }
    String namespace = query(exchange.getRequestURI(), "namespace", "default");
    // ?namespace=ns is the profile of Inmesh clients without certificates there; ?profile=<key> names any profile
    String profile = query(exchange.getRequestURI(), "profile", ClientProfile.inmesh(namespace).key());
    var published = control.xds().published(profile);
    if (published.isEmpty()) {
      json(exchange, 404, Map.of("error", "no snapshot for profile " + profile,
          "profiles", control.xds().profileKeys().stream().sorted().toList()));
      return;
    }
    Map<String, Object> dump = new LinkedHashMap<>();
    dump.put("profile", profile);
    dump.put("listeners", protos(published.get().listeners()));
    dump.put("routes", protos(published.get().routes()));
    dump.put("clusters", protos(published.get().clusters()));
    dump.put("endpoints", protos(published.get().endpoints()));
    json(exchange, 200, dump);
  }

  /** What one client holds: per type the version it ACKed (and its last NACK), then the resources of those versions. */
  private void clientDump(HttpExchange exchange, ClientConfig held) throws IOException {
    Map<String, Object> dump = new LinkedHashMap<>();
    dump.put("node", held.client().nodeId());
    dump.put("profile", held.client().profile());
    service(held.client().nodeId()).ifPresent(service -> dump.put("service", service));
    Map<String, Object> versions = new LinkedHashMap<>();
    held.types().forEach((type, version) -> {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("acked", version.ackedVersion());
      entry.put("current", version.currentVersion());
      entry.put("remembered", version.resources().isPresent());
      var status = held.client().types().get(type);
      if (status != null) {
        status.lastNack().ifPresent(nack -> entry.put("lastNack", Map.of(
            "version", nack.version(), "error", nack.message(), "at", nack.at().toString())));
      }
      versions.put(type, entry);
    });
    dump.put("versions", versions);
    String[][] kinds = {{"LDS", "listeners"}, {"RDS", "routes"}, {"CDS", "clusters"}, {"EDS", "endpoints"}};
    for (String[] kind : kinds) {
      ClientConfig.Held version = held.types().get(kind[0]);
      dump.put(kind[1], version.resources().map(AdminServer::protos).orElse(List.of()));
    }
    json(exchange, 200, dump);
  }

  /**
   * {@code {"client": "productpage", "method": "GET", "url": "http://reviews:9080/x", "headers": ["end-user: jason"],
   * "fromPrincipal": "cluster.local/ns/default/sa/sleep"}} (the principal is optional: the client's own certificate's
   * by default).
   */
  private void explain(HttpExchange exchange) throws IOException {
    var body = JSON.readTree(body(exchange));
    String client = body.path("client").asText("");
    String url = body.path("url").asText("");
    if (client.isEmpty() || url.isEmpty()) {
      throw new IllegalArgumentException("client and url are required");
    }
    List<String> headers = new ArrayList<>();
    body.path("headers").forEach(h -> headers.add(h.asText()));
    ExplainRequest request = ExplainRequest.parse(body.path("method").asText(""), url, headers);
    String fromPrincipal = body.path("fromPrincipal").asText("");
    RequestExplanation explanation = control.explain(client, request,
        fromPrincipal.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(fromPrincipal));
    Map<String, Object> reply = new LinkedHashMap<>();
    reply.put("client", explanation.client());
    reply.put("request", explanation.request());
    reply.put("outcome", explanation.outcome());
    reply.put("status", explanation.status());
    reply.put("detail", explanation.detail());
    reply.put("listener", explanation.listener().orElse(null));
    reply.put("routeConfiguration", explanation.routeTable().orElse(null));
    reply.put("virtualHost", explanation.virtualHost().orElse(null));
    reply.put("route", explanation.route().orElse(null));
    reply.put("notTaken", explanation.notTaken().stream()
        .map(n -> Map.of("route", n.route(), "reason", n.reason())).toList());
    reply.put("clusters", explanation.clusters().stream().map(c -> {
      Map<String, Object> cluster = new LinkedHashMap<>();
      cluster.put("cluster", c.cluster());
      cluster.put("weight", c.weight());
      cluster.put("percent", c.percent());
      cluster.put("subset", c.subset());
      cluster.put("endpoints", c.endpoints());
      cluster.put("policies", c.policies());
      return cluster;
    }).toList());
    reply.put("policies", explanation.policies());
    reply.put("authorization", explanation.authorization().stream().map(a -> {
      Map<String, Object> decision = new LinkedHashMap<>();
      decision.put("destination", a.destination());
      decision.put("endpoint", a.endpoint());
      decision.put("listener", a.listener().orElse(null));
      decision.put("mtls", a.mtls().orElse(null));
      decision.put("principal", a.principal().orElse(null));
      decision.put("decision", a.decision());
      decision.put("detail", a.detail());
      decision.put("policy", a.policy().orElse(null));
      decision.put("notes", a.notes());
      return decision;
    }).toList());
    json(exchange, 200, reply);
  }

  private void describe(HttpExchange exchange, ResourceKey key) throws IOException {
    var description = control.describe(key)
        .orElseThrow(() -> new java.util.NoSuchElementException("no resource " + key + " is in force"));
    Map<String, Object> reply = resource(description.resource());
    reply.put("problems", lines(description.problems()));
    reply.put("findings", description.findings().stream().map(AdminServer::finding).toList());
    reply.put("affects", description.affects());
    json(exchange, 200, reply);
  }

  private static Map<String, Object> finding(Finding finding) {
    return finding.toMap();
  }

  private java.util.Optional<String> service(String nodeId) {
    return control.workloads().stream().filter(w -> w.nodeId().equals(nodeId)).findFirst()
        .map(w -> w.metadata().service() + "." + w.metadata().namespace());
  }

  private Map<String, Object> status() {
    Map<String, Object> status = new LinkedHashMap<>();
    List<Map<String, Object>> sources = new ArrayList<>();
    for (ConfigController.SourceStatus source : control.configStatus()) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("source", source.source());
      entry.put("accepted", source.accepted());
      entry.put("at", source.at().toString());
      entry.put("errors", lines(source.problems().stream().filter(Problem::isError).toList()));
      entry.put("warnings", lines(source.problems().stream().filter(p -> !p.isError()).toList()));
      sources.add(entry);
    }
    status.put("sources", sources);
    status.put("translation", lines(control.translationWarnings()));
    status.put("heldBack", lines(control.heldBack()));
    status.put("jwks", control.jwksStatus());
    return status;
  }

  private static Map<String, Object> resource(ConfigResource resource) {
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("kind", resource.kind());
    entry.put("namespace", resource.namespace());
    entry.put("name", resource.name());
    entry.put("apiVersion", resource.apiVersion());
    entry.put("source", resource.source());
    entry.put("yaml", resource.yaml());
    return entry;
  }

  private Map<String, Object> client(ClientStatus client) {
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("node", client.nodeId());
    entry.put("namespace", client.namespace());
    entry.put("service", service(client.nodeId()).orElse(""));
    entry.put("profile", client.profile());
    entry.put("userAgent", client.userAgent().trim());
    entry.put("connectedAt", client.connectedAt().toString());
    Map<String, Object> types = new LinkedHashMap<>();
    Map<String, String> current = control.currentVersions(client);
    client.types().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(type -> {
      Map<String, Object> t = new LinkedHashMap<>();
      t.put("sent", type.getValue().sentVersion());
      t.put("acked", type.getValue().ackedVersion());
      // the version the client should hold now; absent while a change is being translated
      java.util.Optional.ofNullable(current.get(type.getKey())).ifPresent(version -> t.put("current", version));
      t.put("responses", type.getValue().responses());
      type.getValue().lastNack().ifPresent(nack -> t.put("lastNack", Map.of(
          "version", nack.version(), "error", nack.message(), "at", nack.at().toString())));
      types.put(type.getKey(), t);
    });
    entry.put("types", types);
    client.registrationError().ifPresent(error -> entry.put("registrationError", error));
    return entry;
  }

  /** {@code ?generation=N}, or empty for the newest change. */
  private static java.util.OptionalLong generation(URI uri) {
    String value = query(uri, "generation", "");
    if (value.isEmpty()) {
      return java.util.OptionalLong.empty();
    }
    try {
      return java.util.OptionalLong.of(Long.parseLong(value));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("generation must be the number an apply answered, got '" + value + "'");
    }
  }

  /**
   * How far one change has reached the clients: counts, then each affected client with its state,
   * the versions that hold the change and, when it NACKed, its own reason.
   */
  private Map<String, Object> rollout(Rollout rollout) {
    Map<String, Object> reply = new LinkedHashMap<>();
    reply.put("generation", rollout.generation());
    reply.put("appliedAt", rollout.appliedAt().toString());
    reply.put("translatedAt", rollout.builtAt().map(Object::toString).orElse(null));
    reply.put("settled", rollout.settled());
    reply.put("affected", rollout.clients().size());
    reply.put("acked", rollout.count(Rollout.State.ACKED));
    reply.put("nacked", rollout.count(Rollout.State.NACKED));
    reply.put("pending", rollout.count(Rollout.State.PENDING));
    reply.put("unaffected", rollout.unaffected());
    reply.put("disconnected", rollout.disconnected());
    reply.put("clients", rollout.clients().stream().map(client -> {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("node", client.status().nodeId());
      entry.put("namespace", client.status().namespace());
      entry.put("service", service(client.status().nodeId()).orElse(""));
      entry.put("kind", dev.inmesh.control.translate.ClientProfile.parse(client.status().profile()).proxylessGrpc()
          ? "grpc" : "inmesh");
      entry.put("state", client.state().name().toLowerCase(java.util.Locale.ROOT));
      entry.put("versions", client.types());
      entry.put("nacks", client.nacks());
      return entry;
    }).toList());
    return reply;
  }

  private static Map<String, Object> workload(Workload workload) {
    var meta = workload.metadata();
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("node", workload.nodeId());
    entry.put("service", meta.service());
    entry.put("namespace", meta.namespace());
    entry.put("address", meta.address());
    entry.put("ports", meta.ports().stream().map(p -> p.name() + ":" + p.number() + "->" + p.targetPort()).toList());
    entry.put("labels", meta.labels());
    entry.put("locality", meta.locality().toString());
    entry.put("registeredAt", workload.registeredAt().toString());
    return entry;
  }

  private static void applyResult(HttpExchange exchange, MeshControl.Applied applied) throws IOException {
    ApplyResult result = applied.result();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("accepted", result.accepted());
    body.put("changed", result.changed().stream().map(ResourceKey::toString).toList());
    // the change's number, to follow with GET /apis/rollout?generation=N; null when nothing changed
    body.put("generation", applied.generation().isPresent() ? applied.generation().getAsLong() : null);
    body.put("errors", lines(result.errors()));
    body.put("warnings", lines(result.warnings()));
    json(exchange, result.accepted() ? 200 : result.serverFault() ? 503 : 400, body);
  }

  private static List<String> lines(List<Problem> problems) {
    return problems.stream().map(Problem::toString).toList();
  }

  private static List<Object> protos(java.util.Collection<? extends Message> messages) {
    List<Object> result = new ArrayList<>();
    JsonFormat.Printer printer = ResourceJson.printer();
    for (Message message : messages) {
      try {
        result.add(JSON.readTree(printer.print(message)));
      } catch (InvalidProtocolBufferException | JsonProcessingException e) {
        result.add(Map.of("error", "cannot print " + message.getClass().getSimpleName() + ": " + e.getMessage()));
      }
    }
    return result;
  }

  private static String body(HttpExchange exchange) throws IOException {
    try (InputStream in = exchange.getRequestBody()) {
      byte[] bytes = in.readNBytes(MAX_BODY_BYTES + 1);
      if (bytes.length > MAX_BODY_BYTES) {
        throw new BodyTooLargeException();
      }
      return new String(bytes, StandardCharsets.UTF_8);
    }
  }

  /** A request body over {@link #MAX_BODY_BYTES}: answered 413. */
  private static final class BodyTooLargeException extends RuntimeException {
    BodyTooLargeException() {
      super("the request body is over " + MAX_BODY_BYTES + " bytes", null, false, false);
    }
  }

  private static String query(URI uri, String name, String fallback) {
    String query = uri.getRawQuery();
    if (query == null) {
      return fallback;
    }
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      if (eq > 0 && URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8).equals(name)) {
        return URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      }
    }
    return fallback;
  }

  private static byte[] dashboard() throws IOException {
    try (var in = AdminServer.class.getResourceAsStream("dashboard.html")) {
      if (in == null) {
        throw new IOException("dashboard.html is missing from the jar");
      }
      return in.readAllBytes();
    }
  }

  private static void text(HttpExchange exchange, int status, String text) throws IOException {
    send(exchange, status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
  }

  private static void json(HttpExchange exchange, int status, Object body) throws IOException {
    try {
      send(exchange, status, "application/json", JSON.writeValueAsBytes(body));
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void send(HttpExchange exchange, int status, String type, byte[] bytes) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
