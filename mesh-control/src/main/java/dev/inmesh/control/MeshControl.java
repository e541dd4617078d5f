package dev.inmesh.control;

import dev.inmesh.control.api.AdminServer;
import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.registry.WorkloadRegistry;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.control.source.ConfigController;
import dev.inmesh.control.source.ConfigDirectory;
import dev.inmesh.control.store.ConfigStore;
import dev.inmesh.control.store.DurableFile;
import dev.inmesh.control.store.RegistryStore;
import dev.inmesh.control.store.Stores;
import dev.inmesh.control.translate.ClientProfile;
import dev.inmesh.control.translate.HostResolver;
import dev.inmesh.control.translate.MeshState;
import dev.inmesh.control.translate.Preflight;
import dev.inmesh.control.translate.Translation;
import dev.inmesh.control.translate.XdsTranslator;
import dev.inmesh.control.xds.ClientStatus;
import dev.inmesh.control.xds.XdsServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control server, assembled: config sources → validation → store → translator → snapshot cache
 * → ADS. Every change to config or registry schedules one rebuild on a single thread, which
 * translates per client profile (namespace, client kind, certificates, locality) and publishes; content-hashed versions mean clients only hear
 * about what really changed.
 */
public final class MeshControl implements AutoCloseable {
  static {
    dev.inmesh.commons.internal.JdkHttpServers.boundedRequests();
  }

  private static final Logger log = LoggerFactory.getLogger(MeshControl.class);
  private static final String API_FILE = "applied.yaml";
  private static final String API_TOKENS_FILE = "api-tokens";
  private static final String CREDENTIAL_FILE = "admin-credential";
  /** Re-translate now and then even without a change, so DNS ServiceEntries follow DNS. */
  private static final long REFRESH_SECONDS = 30;

  private final MeshControlOptions options;
  private final Clock clock = Clock.systemUTC();
  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "inmesh-control");
    thread.setDaemon(true);
    return thread;
  });
  private final Stores stores;
  private final dev.inmesh.control.translate.authn.JwksResolver jwks;
  private final ConfigStore configStore;
  private final RegistryStore registryStore;
  private final ConfigController config;
  private final XdsTranslator translator;
  private final Map<String, dev.inmesh.ca.CaEvent.Issued> issuedCertificates = new java.util.concurrent.ConcurrentHashMap<>();
  private final io.micrometer.prometheusmetrics.PrometheusMeterRegistry metrics =
      new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
  private final AtomicBoolean rebuildPending = new AtomicBoolean();
  private final AtomicBoolean rebuilding = new AtomicBoolean();
  private volatile List<Problem> translationWarnings = List.of();
  /** Resources a rebuild made that clients would NACK, each sent as it last was (see {@link Preflight}). */
  private volatile List<Problem> heldBack = List.of();
  private final Preflight preflight;
  private XdsServer xds;
  private AdminServer admin;
  private volatile ConfigDirectory directory;
  private dev.inmesh.ca.CertificateAuthority ca;
  private dev.inmesh.ca.CaServer caServer;
  private volatile boolean ready;
  /** Why mesh-control serves no one: its persisted state did not load. Empty when all is well. */
  private volatile java.util.Optional<String> persistedStateFailure = java.util.Optional.empty();
  private dev.inmesh.control.api.ApiCredentials apiCredentials;
  private java.util.Optional<dev.inmesh.control.api.OperatorCredential> adminCredential = java.util.Optional.empty();
  private java.util.Optional<Path> adminCredentialFile = java.util.Optional.empty();
  private List<String> serverNames;
  /** A directory made for the admin credential of a run without a data directory; removed at close. */
  private Path temporaryCredentialDir;

  private MeshControl(MeshControlOptions options) {
    this.options = options;
    this.stores = options.etcd()
        .map(Stores::etcd)
        .orElseGet(Stores::inMemory);
    this.configStore = stores.config();
    this.registryStore = stores.registry();
    this.config = new ConfigController(configStore, ConfigParser.defaults(), clock);
    // the keys behind RequestAuthentication jwksUris: fetched on first use, refreshed on a thread of their own
    this.jwks = dev.inmesh.control.translate.authn.JwksResolver.refreshing(clock,
        Executors.newSingleThreadScheduledExecutor(r -> {
          Thread thread = new Thread(r, "inmesh-control-jwks");
          thread.setDaemon(true);
          return thread;
        }), this::requestRebuild);
    this.translator = new XdsTranslator(HostResolver.system(), options.trustDomain(), options.trustDomainAliases(),
        jwks);
    this.preflight = new Preflight(translator);
  }

  public static MeshControl start(MeshControlOptions options) throws IOException {
    MeshControl control = new MeshControl(options);
    try {
      control.startServers();
    } catch (IOException | RuntimeException e) {
      control.close();
      throw e;
    }
    return control;
  }

  private void startServers() throws IOException {
    WorkloadRegistry registry = new WorkloadRegistry(registryStore, executor, options.gracePeriod(), clock, configStore::list);
    if (options.ca().isPresent()) {
      // the CA first: the xDS port's certificate comes from it
      startCa(options.ca().get());
    } else if (options.insecureXds()) {
      log.warn("no CA (--ca none): mesh-control can verify no workload, so xDS is plaintext and a workload registers"
          + " as whatever its node claims; run this only where every host that can reach {}:{} is trusted",
          options.bindAddress(), options.xdsPort());
    }
    xds = new XdsServer(xdsPorts(), clock, registry, profile -> requestRebuild());
    xds.refuseWhile(this::unavailable);
    xds.pinProfile(ClientProfile.inmesh("default").key());
    XdsServer served = xds;
    config.checkChangesWith((current, candidate, changed) -> {
      List<Workload> workloads = registryStore.list();
      return preflight.check(new MeshState(current, workloads), new MeshState(candidate, workloads), changed,
          served.profileKeys());
    });
    XdsServer server = xds;
    xds.metrics(new dev.inmesh.control.xds.XdsMetrics(metrics, () -> server.clients().size()));
    // the config on disk is in the first snapshot any client sees: load it before serving xDS
    loadPersistedApi();
    restoreRegistry(registry);
    options.configDir().ifPresent(dir -> {
      directory = new ConfigDirectory(dir, config);
      directory.scan();
      directory.scan();
      if (options.etcd().isPresent()) {
        // files deleted while no replica was reading them would otherwise live on in etcd; the
        // scans remove them as they remove any file, once seen missing at two polls
        directory.adopt(config.fileSources());
      }
    });
    rebuild();
    configStore.addListener(this::requestRebuild);
    registryStore.addListener(this::requestRebuild);
    xds.start();
    if (directory != null) {
      executor.scheduleWithFixedDelay(this::scanSafely, options.pollInterval().toMillis(),
          options.pollInterval().toMillis(), TimeUnit.MILLISECONDS);
    }
    executor.scheduleWithFixedDelay(this::requestRebuild, REFRESH_SECONDS, REFRESH_SECONDS, TimeUnit.SECONDS);
    startApi();
    executor.submit(() -> ready = true);
    log.info("mesh-control listening: xDS (ADS) on {}:{} ({}{}), HTTP API on {}://{}:{}{}{}", options.bindAddress(), xds.port(),
        ca == null ? "plaintext, no CA" : "mutual TLS",
        xds.readOnlyPort().isPresent() ? "; read-only plaintext on " + xds.readOnlyPort().getAsInt() : "",
        apiScheme(), options.api().bindAddress(), admin.port(),
        caServer == null ? "" : ", CA on " + options.bindAddress() + ":" + caServer.grpcPort() + " (gRPC) and "
            + caServer.httpsPort() + " (HTTPS)",
        options.configDir().map(d -> ", config from " + d.toAbsolutePath()).orElse(""));
  }

  private void startCa(MeshControlOptions.EmbeddedCa embedded) throws IOException {
    Path caDir;
    if (options.dataDir().isPresent()) {
      // the CA makes its directory, and a <data-dir> that does not exist yet, 0700 whatever the umask
      caDir = options.dataDir().get().resolve("ca");
    } else {
      caDir = Files.createTempDirectory("inmesh-ca");
      log.warn("no --data-dir: the CA root lives in {} and is made anew at every start", caDir);
    }
    dev.inmesh.ca.CaConfig caConfig = dev.inmesh.ca.CaConfig.of(embedded.trustDomain(), caDir);
    if (embedded.root().isPresent()) {
      // replicas share one root and each signs with an intermediate of its own, made at start
      caConfig = caConfig.withRootFiles(embedded.root().get().certificate(), embedded.root().get().privateKey());
    }
    ca = dev.inmesh.ca.CertificateAuthority.builder(caConfig)
        .joinTokenStore(stores.joinTokens())
        .listener(event -> {
          if (event instanceof dev.inmesh.ca.CaEvent.Issued issued) {
            issuedCertificates.put(issued.identity().toString(), issued);
          }
        })
        .build();
    caServer = dev.inmesh.ca.CaServer.start(ca, dev.inmesh.ca.CaServerOptions.defaults()
        .withBindAddress(options.bindAddress())
        .withServerNames(serverNames())
        .withPorts(embedded.grpcPort(), embedded.httpsPort()));
  }

  /**
   * The xDS port over mutual TLS when there is a CA: mesh-control's certificate from it, and
   * client certificates asked for and verified against the mesh roots (a stream without one is
   * refused by the stream's first request, with a status that says why). Plus the opt-in read-only
   * plaintext port.
   */
  private XdsServer.Ports xdsPorts() {
    InetSocketAddress address = new InetSocketAddress(options.bindAddress(), options.xdsPort());
    if (ca == null) {
      if (!options.insecureXds()) {
        throw new IllegalArgumentException("without a CA, mesh-control can verify no workload: xDS would be plaintext and"
            + " register whatever a node claims. Keep the embedded CA, or say so with --insecure-xds (withInsecureXds())");
      }
      if (options.xdsReadOnlyPort().isPresent()) {
        throw new IllegalArgumentException("a read-only xDS port goes beside the mutual TLS one, which needs the"
            + " embedded CA; without a CA the xDS port is plaintext already");
      }
      return XdsServer.Ports.insecure(address);
    }
    String trustDomain = options.ca().get().trustDomain();
    var trust = new dev.inmesh.internal.security.SpiffeTrustManager(() -> ca.trustBundle().roots(),
        peer -> peer.trustDomain().equals(trustDomain), clock);
    try {
      var tls = io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts.configure(
              io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder.forServer(
                  dev.inmesh.ca.CaServer.servingKeys(ca, serverNames(), java.util.Optional.of(identity()))),
              io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider.JDK)
          .trustManager(trust)
          .clientAuth(io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth.OPTIONAL)
          .build();
      return new XdsServer.Ports(address, java.util.Optional.of(tls), java.util.Optional.of(trust), options.xdsReadOnlyPort().stream()
          .mapToObj(port -> new InetSocketAddress(options.bindAddress(), port)).findFirst());
    } catch (javax.net.ssl.SSLException e) {
      throw new IllegalStateException("cannot set up TLS for the xDS port", e);
    }
  }

  /**
   * mesh-control's own SPIFFE ID, which its xDS certificate carries beside its names:
   * {@code spiffe://<trust-domain>/ns/istio-system/sa/mesh-control}, in Istio's root namespace.
   */
  public dev.inmesh.identity.SpiffeId identity() {
    return dev.inmesh.ca.IdentityRules.identity(options.ca().orElseThrow(() -> new IllegalStateException("without a CA,"
        + " mesh-control has no identity")).trustDomain(), "istio-system", "mesh-control");
  }

  /** The read-only plaintext xDS port, when the options open one. */
  public java.util.OptionalInt xdsReadOnlyPort() {
    return xds.readOnlyPort();
  }

  /**
   * The names this server's certificates carry: those the operator gave, the bind addresses when
   * they are specific, and the host's own name (localhost and loopback are always added).
   */
  private List<String> serverNames() {
    if (serverNames == null) {
      serverNames = findServerNames();
    }
    return serverNames;
  }

  // the host's name may take a DNS look-up: found once for the CA's, the API's and xDS's certificates
  private List<String> findServerNames() {
    Set<String> names = new LinkedHashSet<>(options.serverNames());
    for (String bind : List.of(options.bindAddress(), options.api().bindAddress())) {
      if (!bind.equals("0.0.0.0") && !bind.equals("::") && !bind.equals("[::]")) {
        names.add(bind);
      }
    }
    try {
      names.add(java.net.InetAddress.getLocalHost().getHostName());
    } catch (java.net.UnknownHostException e) {
      log.debug("the host's own name is unknown; certificates name only the configured names", e);
    }
    return List.copyOf(names);
  }

  /**
   * Starts the operator API: on loopback in plain HTTP, beyond loopback only over TLS with a
   * certificate from the embedded CA; callers present a credential from the token file, or the
   * admin credential made on the first start.
   */
  private void startApi() throws IOException {
    String bind = options.api().bindAddress();
    boolean loopback = java.net.InetAddress.getByName(bind).isLoopbackAddress();
    java.util.Optional<javax.net.ssl.SSLContext> tls = java.util.Optional.empty();
    if (!loopback) {
      if (ca == null) {
        throw new IOException("the operator API listens beyond loopback (" + bind + ") only over TLS, and its"
            + " certificate comes from the embedded CA, which is off (--ca none); keep --api-bind on loopback");
      }
      tls = java.util.Optional.of(dev.inmesh.ca.CaServer.servingTls(ca, serverNames()));
    }
    String token = prepareCredentials();
    admin = AdminServer.start(new InetSocketAddress(bind, options.httpPort()), this, apiCredentials, tls);
    if (token != null) {
      var credential = new dev.inmesh.control.api.OperatorCredential(apiUrl(), "admin", dev.inmesh.control.api.Role.ADMIN,
          token, trustedRoots());
      // the token first, its digest last: a start that fails between them leaves no digest whose token is lost
      credential.write(adminCredentialFile.orElseThrow());
      options.dataDir().ifPresent(dir -> writeTokenDigest(dir.resolve(API_TOKENS_FILE), token));
      adminCredential = java.util.Optional.of(credential);
      log.info("the admin credential for meshctl is in {} (meshctl --credential {}, or export MESHCTL_CREDENTIAL={})",
          adminCredentialFile.get(), adminCredentialFile.get(), adminCredentialFile.get());
    } else {
      refreshCredentialFile();
    }
  }

  /** Where operators reach the API: the bind address itself, or loopback for a wildcard. */
  private String apiUrl() {
    String host = options.api().bindAddress();
    if (host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")) {
      host = "127.0.0.1";
    }
    if (host.contains(":") && !host.startsWith("[")) {
      host = "[" + host + "]";
    }
    return apiScheme() + "://" + host + ":" + admin.port();
  }

  /** The roots an operator verifies the API's certificate with; none when it speaks plain HTTP. */
  private java.util.Optional<String> trustedRoots() {
    return apiScheme().equals("https") ? java.util.Optional.of(ca.trustBundle().toPem()) : java.util.Optional.empty();
  }

  private static void writeTokenDigest(Path file, String token) {
    String line = dev.inmesh.control.api.ApiCredentials.line(dev.inmesh.control.api.Role.ADMIN, "admin", token);
    try {
      dev.inmesh.control.api.OperatorCredential.writePrivately(file,
          ("# mesh-control's operator API credentials: <role> <name> sha256:<hex of the token>\n" + line + "\n")
              .getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot keep the admin credential's digest in " + file, e);
    }
  }

  /**
   * Keeps the admin credential that an earlier start wrote pointing at this server: its URL (a
   * port or scheme may have changed) and, over TLS, the roots in force (a root rotation changes
   * them). A file whose token no longer authenticates is left alone.
   */
  private void refreshCredentialFile() {
    Path file = options.api().credentialFile().orElse(options.dataDir().map(d -> d.resolve(CREDENTIAL_FILE)).orElse(null));
    if (file == null || options.api().tokens().isPresent() || !Files.exists(file)) {
      return;
    }
    try {
      var written = dev.inmesh.control.api.OperatorCredential.read(file);
      if (apiCredentials.authenticate(written.token()).isEmpty()) {
        return;
      }
      var fresh = new dev.inmesh.control.api.OperatorCredential(apiUrl(), written.name(), written.role(), written.token(),
          trustedRoots());
      if (!fresh.equals(written)) {
        fresh.write(file);
        log.info("updated the server and roots in the admin credential {}", file);
      }
      adminCredentialFile = java.util.Optional.of(file);
      adminCredential = java.util.Optional.of(fresh);
    } catch (IOException e) {
      log.warn("cannot update the admin credential {}: {}", file, e.getMessage());
    }
  }

  /** After a root rotation step: the admin credential trusts the roots now in force. */
  public void rootsChanged() {
    if (apiScheme().equals("https")) {
      refreshCredentialFile();
    }
  }

  private String apiScheme() {
    try {
      return java.net.InetAddress.getByName(options.api().bindAddress()).isLoopbackAddress() ? "http" : "https";
    } catch (java.net.UnknownHostException e) {
      return "https";
    }
  }

  /**
   * Loads who may call the API. Returns the admin token when one is made now (its digest is kept
   * once the server runs and the token is in the credential file), null otherwise.
   */
  private String prepareCredentials() throws IOException {
    if (options.api().tokens().isPresent()) {
      Path file = options.api().tokens().get();
      apiCredentials = loadTokens(file);
      log.info("operator API: {} credential(s) from {}", apiCredentials.size(), file);
      return null;
    }
    java.util.Optional<Path> kept = options.dataDir().map(dir -> dir.resolve(API_TOKENS_FILE));
    if (kept.isPresent() && Files.exists(kept.get())) {
      apiCredentials = loadTokens(kept.get());
      Path credentialFile = options.api().credentialFile().orElse(options.dataDir().get().resolve(CREDENTIAL_FILE));
      if (Files.exists(credentialFile)) {
        log.info("operator API: {} credential(s) from {}; the admin credential is in {}", apiCredentials.size(),
            kept.get(), credentialFile);
      } else {
        log.error("operator API: {} credential(s) from {}, but the admin credential made at the first start is no longer"
            + " in {}. To regain access, add a line from 'meshctl credential new --role admin --name NAME' to {}"
            + " and restart, or remove {} to have a new admin credential made", apiCredentials.size(), kept.get(),
            credentialFile, kept.get(), kept.get());
      }
      return null;
    }
    String token = dev.inmesh.control.api.ApiCredentials.newToken(new java.security.SecureRandom());
    apiCredentials = dev.inmesh.control.api.ApiCredentials.parse("the generated admin credential",
        dev.inmesh.control.api.ApiCredentials.line(dev.inmesh.control.api.Role.ADMIN, "admin", token));
    Path credentialFile = options.api().credentialFile().orElseGet(() -> options.dataDir()
        .map(dir -> dir.resolve(CREDENTIAL_FILE))
        .orElseGet(() -> {
          try {
            temporaryCredentialDir = Files.createTempDirectory("inmesh-control");
            return temporaryCredentialDir.resolve(CREDENTIAL_FILE);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }));
    adminCredentialFile = java.util.Optional.of(credentialFile);
    return token;
  }

  private static dev.inmesh.control.api.ApiCredentials loadTokens(Path file) throws IOException {
    dev.inmesh.control.api.ApiCredentials loaded;
    try {
      loaded = dev.inmesh.control.api.ApiCredentials.read(file);
    } catch (IllegalArgumentException | java.nio.file.NoSuchFileException e) {
      throw new IOException("cannot load the API token file: " + e.getMessage(), e);
    }
    if (loaded.size() == 0) {
      throw new IOException("the API token file " + file + " holds no credential, so no one could call the API;"
          + " add a line from 'meshctl credential new'");
    }
    return loaded;
  }

  /**
   * The admin credential mesh-control made: at this start (on the first start with a data
   * directory, or at every start without one), or at an earlier one when its file is still there
   * and still grants access. Empty when callers come from a token file.
   */
  public java.util.Optional<dev.inmesh.control.api.OperatorCredential> adminCredential() {
    return adminCredential;
  }

  /** Where {@link #adminCredential()} was written. */
  public java.util.Optional<Path> adminCredentialFile() {
    return adminCredentialFile;
  }

  /** The embedded CA, unless it was turned off. */
  public java.util.Optional<dev.inmesh.ca.CertificateAuthority> ca() {
    return java.util.Optional.ofNullable(ca);
  }

  /** The gRPC port of the embedded CA. */
  public int caGrpcPort() {
    if (caServer == null) {
      throw new IllegalStateException("the embedded CA is off");
    }
    return caServer.grpcPort();
  }

  /** The HTTPS port of the embedded CA. */
  public int caHttpsPort() {
    if (caServer == null) {
      throw new IllegalStateException("the embedded CA is off");
    }
    return caServer.httpsPort();
  }

  public int xdsPort() {
    return xds.port();
  }

  public int httpPort() {
    return admin.port();
  }

  public boolean isReady() {
    return ready && unavailable().isEmpty();
  }

  /** Why mesh-control serves no one now: persisted state that did not load, or a config directory never read. */
  private java.util.Optional<String> unavailable() {
    if (persistedStateFailure.isPresent()) {
      return persistedStateFailure;
    }
    ConfigDirectory read = directory;
    return read == null ? java.util.Optional.empty()
        : read.unread().map(why -> why + "; mesh-control serves no one until it has read it once");
  }

  /**
   * Why mesh-control is not ready, when it is not: still starting, or its persisted state did not
   * load (then it says which file and why, serves no client and takes no change until that is fixed).
   */
  public java.util.Optional<String> notReadyReason() {
    if (unavailable().isPresent()) {
      return unavailable();
    }
    return ready ? java.util.Optional.empty() : java.util.Optional.of("starting");
  }

  public ApplyResult apply(String request, String yaml) {
    return applyTracked(request, yaml).result();
  }

  public ApplyResult delete(String request, List<dev.inmesh.control.config.ResourceKey> keys) {
    return deleteTracked(request, keys).result();
  }

  /**
   * An apply or delete, and the generation that numbers its change when it made one: what
   * {@link #rollout} follows to the clients.
   */
  public record Applied(ApplyResult result, java.util.OptionalLong generation) {}

  /** {@link #apply}, numbering the change it makes. */
  public Applied applyTracked(String request, String yaml) {
    if (persistedStateFailure.isPresent()) {
      return new Applied(ApplyResult.unavailable(new Problem(Problem.Severity.ERROR, request, "", "",
          persistedStateFailure.get())), java.util.OptionalLong.empty());
    }
    var before = xds.rolloutBaseline();
    return tracked(config.apply(request, yaml), before);
  }

  /** {@link #delete}, numbering the change it makes. */
  public Applied deleteTracked(String request, List<dev.inmesh.control.config.ResourceKey> keys) {
    if (persistedStateFailure.isPresent()) {
      return new Applied(ApplyResult.unavailable(new Problem(Problem.Severity.ERROR, request, "", "",
          persistedStateFailure.get())), java.util.OptionalLong.empty());
    }
    var before = xds.rolloutBaseline();
    return tracked(config.delete(request, keys), before);
  }

  /**
   * Numbers a change that took effect. The store's listener may have started a translation before
   * the number existed; one more is asked for, which reads the number before the config and so
   * holds the change (content-hashed versions make it free for clients when nothing differs).
   */
  private Applied tracked(ApplyResult result, dev.inmesh.control.xds.Rollout.Baseline before) {
    if (!result.accepted() || result.changed().isEmpty()) {
      return new Applied(result, java.util.OptionalLong.empty());
    }
    long generation = xds.beginRollout(before);
    requestRebuild();
    return new Applied(result, java.util.OptionalLong.of(generation));
  }

  /**
   * How far change {@code generation} (the newest when empty) has reached the connected clients.
   *
   * @throws java.util.NoSuchElementException when no such change is remembered
   */
  public dev.inmesh.control.xds.Rollout rollout(java.util.OptionalLong generation) {
    return xds.rollout(generation);
  }

  public List<ConfigResource> resources() {
    return config.resources();
  }

  public List<ConfigController.SourceStatus> configStatus() {
    return config.statuses();
  }

  /** Each RequestAuthentication jwksUri mesh-control has fetched: when, or why it could not. */
  public java.util.Map<String, String> jwksStatus() {
    return jwks.status();
  }

  public List<Problem> translationWarnings() {
    return translationWarnings;
  }

  /** What the last rebuild held back: resources clients would NACK, sent as they last were instead. */
  public List<Problem> heldBack() {
    return heldBack;
  }

  /**
   * The versions {@code client}'s profile is served now, per type it subscribes to; empty while a
   * change is not yet translated, when no one can tell what it will be.
   */
  public Map<String, String> currentVersions(ClientStatus client) {
    if (rebuildPending.get() || rebuilding.get()) {
      return Map.of();
    }
    java.util.Optional<Map<String, String>> served = xds.versions(client.profile(), client.types().keySet());
    if (served.isEmpty()) {
      return Map.of();
    }
    Map<String, String> versions = new java.util.TreeMap<>(served.get());
    // a type xDS has no snapshot version for: what the client ACKed
    client.types().forEach((type, status) -> versions.putIfAbsent(type, status.ackedVersion()));
    return versions;
  }

  public List<ClientStatus> clients() {
    return xds.clients();
  }

  /**
   * Whether every connected client has ACKed the current version of every type it was sent: the
   * moment a config change has fully reached the mesh. A client that NACKs never converges.
   */
  /** The newest certificate the embedded CA issued per identity, for the dashboard. */
  public List<Map<String, Object>> certificates() {
    return issuedCertificates.values().stream()
        .sorted(java.util.Comparator.comparing(i -> i.identity().toString()))
        .map(i -> Map.<String, Object>of("identity", i.identity().toString(), "serial", i.serialNumber().toString(16),
            "notAfter", i.notAfter().toString()))
        .toList();
  }

  /** mesh-control's own meters (istiod's {@code pilot_*} names), in Prometheus text. */
  public String scrapeMetrics() {
    return metrics.scrape();
  }

  public boolean converged() {
    // a change not yet translated has reached nobody, whatever the clients ACKed before it
    if (rebuildPending.get() || rebuilding.get()) {
      return false;
    }
    for (ClientStatus client : xds.clients()) {
      Map<String, String> current = currentVersions(client);
      if (current.isEmpty() && !client.types().isEmpty()) {
        return false;
      }
      for (var type : client.types().entrySet()) {
        if (!type.getValue().ackedVersion().equals(current.get(type.getKey()))) {
          return false;
        }
      }
    }
    return true;
  }

  public List<Workload> workloads() {
    return registryStore.list();
  }

  public XdsServer xds() {
    return xds;
  }

  /** What {@code meshctl analyze --server} reports: the config in force, its sources' problems, the registry. */
  public List<dev.inmesh.control.analyze.Finding> analyze() {
    List<Problem> problems = new java.util.ArrayList<>();
    config.statuses().forEach(status -> problems.addAll(status.problems()));
    return dev.inmesh.control.analyze.Analyzer.analyze(resources(), workloads(), problems, HostResolver.system());
  }

  /** The resource, the problems that name it, and what it affects; empty when there is no such resource. */
  public java.util.Optional<Description> describe(dev.inmesh.control.config.ResourceKey key) {
    java.util.Optional<ConfigResource> resource = resources().stream().filter(r -> r.key().equals(key)).findFirst();
    if (resource.isEmpty()) {
      return java.util.Optional.empty();
    }
    String name = key.toString();
    List<Problem> problems = new java.util.ArrayList<>();
    config.statuses().forEach(status -> status.problems().stream().filter(p -> p.resource().equals(name)).forEach(problems::add));
    translationWarnings.stream().filter(p -> p.resource().equals(name)).forEach(problems::add);
    List<dev.inmesh.control.analyze.Finding> findings = analyze().stream().filter(f -> f.resource().equals(name)).toList();
    var model = dev.inmesh.control.translate.MeshModel.of(new MeshState(resources(), workloads()), HostResolver.system());
    return java.util.Optional.of(new Description(resource.get(), problems, findings,
        dev.inmesh.control.analyze.Impact.of(resource.get(), model, workloads())));
  }

  /** {@code meshctl describe}: a resource, the problems that name it, and what it affects. */
  public record Description(ConfigResource resource, List<Problem> problems, List<dev.inmesh.control.analyze.Finding> findings,
      Map<String, List<String>> affects) {}

  /**
   * Explains a request as the client {@code clientId} (a node id, or a unique prefix of one) would
   * route it, over the config that client ACKed, and what each destination's inbound authorization
   * decides, over the server listener that destination ACKed.
   *
   * @param fromPrincipal the caller's identity to evaluate; the client's own certificate's when empty
   */
  public dev.inmesh.control.explain.RequestExplanation explain(String clientId,
      dev.inmesh.control.explain.ExplainRequest request, java.util.Optional<String> fromPrincipal) {
    ClientStatus client = xds.client(clientId);
    var decoded = xds.held(client).decode();
    if (!decoded.errors().isEmpty()) {
      throw new IllegalStateException("client " + client.nodeId() + " holds config it could not have accepted: "
          + decoded.errors());
    }
    var routing = dev.inmesh.control.explain.RequestExplainer.explain(client.nodeId(), decoded.resources(), request);
    java.util.Optional<String> identity = fromPrincipal.map(dev.inmesh.control.explain.AuthorizationExplainer::principal)
        .or(client::identity);
    java.net.InetAddress source = client.address().flatMap(dev.inmesh.control.explain.AuthorizationExplainer::literal)
        .orElse(java.net.InetAddress.getLoopbackAddress());
    return routing.withAuthorization(dev.inmesh.control.explain.AuthorizationExplainer.explain(decoded.resources(), routing,
        request, identity, source, dev.inmesh.control.explain.AuthorizationExplainer.of(workloads(), xds)));
  }

  /** Runs a directory scan now, on the control thread, and waits for it and the rebuild after it. */
  public void rescan() {
    if (directory == null) {
      return;
    }
    try {
      // two scans: a change is applied once it reads the same twice
      executor.submit(this::scanSafely).get();
      executor.submit(this::scanSafely).get();
      executor.submit(() -> { }).get();
    } catch (Exception e) {
      throw new IllegalStateException("rescan failed", e);
    }
  }

  private void scanSafely() {
    try {
      directory.scan();
    } catch (RuntimeException e) {
      log.error("scanning {} failed", directory.root(), e);
    }
  }

  private void requestRebuild() {
    if (rebuildPending.compareAndSet(false, true)) {
      executor.execute(this::rebuild);
    }
  }

  private void rebuild() {
    rebuilding.set(true);
    rebuildPending.set(false);
    try {
      java.time.Instant start = clock.instant();
      // read before the config: every change numbered up to here is in what is read next
      long generation = xds.rolloutGeneration();
      MeshState state = new MeshState(configStore.list(), registryStore.list());
      // a profile whose clients are long gone is translated no more
      xds.evictIdleProfiles();
      Set<String> profileKeys = new TreeSet<>(xds.profileKeys());
      Set<Problem> warnings = new LinkedHashSet<>();
      Set<Problem> held = new LinkedHashSet<>();
      boolean changed = false;
      for (String profileKey : profileKeys) {
        Translation translation = translator.translate(state, ClientProfile.parse(profileKey));
        warnings.addAll(translation.warnings());
        List<dev.inmesh.internal.xds.XdsDecoder.Refusal> refused = Preflight.refusals(translation);
        if (!refused.isEmpty()) {
          // applies were checked before they took effect; a workload coming or going was not
          translation = Preflight.keepingLastGood(translation, refused, published(profileKey));
          refused.forEach(r -> held.add(new Problem(Problem.Severity.ERROR, "registry", r.type() + " " + r.name(), r.field(),
              "clients would NACK it (" + r.message() + "); they are sent the version they were sent last, if any")));
        }
        changed |= xds.publish(profileKey, translation);
      }
      List<Problem> nowHeld = List.copyOf(held);
      if (!nowHeld.equals(heldBack)) {
        nowHeld.stream().filter(p -> !heldBack.contains(p)).forEach(p -> log.error("{}", p));
      }
      heldBack = nowHeld;
      if (changed) {
        xds.changed(start);
      }
      xds.rolledOut(generation);
      List<Problem> fresh = List.copyOf(warnings);
      if (!fresh.equals(translationWarnings)) {
        fresh.stream().filter(w -> !translationWarnings.contains(w)).forEach(w -> log.warn("{}", w));
      }
      translationWarnings = fresh;
    } catch (RuntimeException e) {
      log.error("translating the mesh config failed; clients keep their last config", e);
    } finally {
      rebuilding.set(false);
    }
  }

  /** What the profile's clients are served now, as a translation. */
  private java.util.Optional<Translation> published(String profile) {
    return xds.published(profile);
  }

  /**
   * Loads what the API applied before the restart, then journals every later API change to the same
   * file before it takes effect. A file that exists and does not load (unreadable, cut short,
   * refused by this version's parser) is never served around: mesh-control then reports not ready,
   * refuses xDS streams and changes, and leaves the file and its previous copy as they are, so that
   * no DENY policy or STRICT mode it held is silently dropped.
   */
  private void loadPersistedApi() {
    if (options.etcd().isPresent()) {
      return; // etcd keeps what the API applied; a replica's old file must not bring back deleted resources
    }
    if (options.dataDir().isEmpty()) {
      return;
    }
    DurableFile file = new DurableFile(options.dataDir().get().resolve(API_FILE));
    java.util.Optional<String> failure = restore(file);
    if (failure.isPresent()) {
      persistedStateFailure = java.util.Optional.of(failure.get() + "; mesh-control serves no client until it loads (fix or"
          + " replace the file, the previous good copy is " + file.previousPath() + ", and restart)");
      log.error("NOT READY: {}", persistedStateFailure.get());
      return;
    }
    config.journalTo(resources -> file.write(journal(resources)));
  }

  private java.util.Optional<String> restore(DurableFile file) {
    String yaml;
    try {
      java.util.Optional<String> read = file.read();
      if (read.isEmpty()) {
        return file.mayHavePrevious()
            ? java.util.Optional.of(file.path() + " is missing, but its previous copy " + file.previousPath() + " is there")
            : java.util.Optional.empty();
      }
      yaml = read.get();
    } catch (IOException e) {
      return java.util.Optional.of("cannot read " + file.path() + ": " + e.getMessage());
    }
    if (yaml.isBlank()) {
      // what a crash of a version that wrote in place could leave; such a version also wrote an
      // empty file once every API resource was deleted, and nothing tells the two apart
      return java.util.Optional.of(file.path() + " is empty: a crash while it was written may have cut it (if every"
          + " resource applied through the API was deleted before an upgrade, delete the file)");
    }
    boolean earlier = !yaml.startsWith(JOURNAL_HEADER);
    ApplyResult result = config.apply(file.path().toString(), yaml);
    if (!result.accepted()) {
      return java.util.Optional.of(file.path() + " does not load: " + result.errors().stream().map(Problem::toString)
          .collect(Collectors.joining("; ")));
    }
    if (earlier) {
      // written by an earlier version, without the header: journaled again, header first
      try {
        file.write(journal(config.apiResources()));
      } catch (IOException e) {
        return java.util.Optional.of("cannot rewrite " + file.path() + " (written by an earlier version): " + e.getMessage());
      }
      log.info("{} was written by an earlier version of mesh-control; rewrote it", file.path());
    }
    log.info("restored {} resources applied through the API from {}", result.changed().size(), file.path());
    return java.util.Optional.empty();
  }

  /**
   * With the embedded store and a data directory, the registry outlives a restart: it is written to
   * {@code registry.json} after each change, and read back at start, where each workload stays for
   * {@link #RESTORED_GRACE} (or the grace period, if longer) and leaves then unless it has
   * reconnected. So a restarted mesh-control serves its first clients the mesh as it was, not an
   * empty one. etcd keeps the registry itself, on leases.
   */
  private void restoreRegistry(WorkloadRegistry registry) {
    if (options.etcd().isPresent() || options.dataDir().isEmpty()) {
      return;
    }
    DurableFile file = new DurableFile(options.dataDir().get().resolve(REGISTRY_FILE));
    java.time.Duration keepFor = options.gracePeriod().compareTo(RESTORED_GRACE) > 0 ? options.gracePeriod() : RESTORED_GRACE;
    try {
      java.util.Optional<String> text = file.read();
      if (text.isPresent()) {
        int restored = 0;
        for (com.fasterxml.jackson.databind.JsonNode entry : REGISTRY_JSON.readTree(text.get()).path("workloads")) {
          java.util.Optional<Workload> workload = dev.inmesh.control.registry.WorkloadJson.fromJson(entry);
          if (workload.isPresent()) {
            registry.restore(workload.get(), keepFor);
            restored++;
          }
        }
        log.info("restored {} workloads registered before the restart from {}; each stays {} s unless it reconnects",
            restored, file.path(), keepFor.toSeconds());
      }
    } catch (IOException e) {
      // the registry is what workloads say of themselves: they say it again when they reconnect
      log.error("cannot restore the registry from {} ({}); workloads appear as they reconnect", file.path(), e.toString());
    }
    AtomicBoolean saving = new AtomicBoolean();
    registryStore.addListener(() -> {
      if (saving.compareAndSet(false, true)) {
        executor.execute(() -> {
          saving.set(false);
          saveRegistry(file);
        });
      }
    });
  }

  private void saveRegistry(DurableFile file) {
    com.fasterxml.jackson.databind.node.ObjectNode json = REGISTRY_JSON.createObjectNode();
    com.fasterxml.jackson.databind.node.ArrayNode list = json.putArray("workloads");
    registryStore.list().stream().sorted(java.util.Comparator.comparing(Workload::nodeId))
        .forEach(w -> list.add(dev.inmesh.control.registry.WorkloadJson.toJson(w)));
    try {
      file.write(json.toPrettyString());
    } catch (IOException e) {
      log.warn("cannot write the registry to {} ({}); a restart would start without it", file.path(), e.toString());
    }
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper REGISTRY_JSON = new com.fasterxml.jackson.databind.ObjectMapper();
  private static final String REGISTRY_FILE = "registry.json";
  /** How long a workload restored at start waits to reconnect: beyond a client's longest reconnect backoff. */
  static final java.time.Duration RESTORED_GRACE = java.time.Duration.ofSeconds(30);

  private static final String JOURNAL_HEADER = "# mesh-control: the resources applied through its API\n";

  private static String journal(List<ConfigResource> resources) {
    return JOURNAL_HEADER + resources.stream().map(ConfigResource::yaml).collect(Collectors.joining("---\n"));
  }

  @Override
  public void close() {
    if (admin != null) {
      admin.close();
    }
    if (caServer != null) {
      caServer.close();
    }
    try {
      if (xds != null) {
        xds.close();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    executor.shutdownNow();
    jwks.close();
    stores.close();
    if (temporaryCredentialDir != null) {
      try {
        Files.deleteIfExists(temporaryCredentialDir.resolve(CREDENTIAL_FILE));
        Files.deleteIfExists(temporaryCredentialDir);
      } catch (IOException e) {
        log.debug("cannot remove {}", temporaryCredentialDir, e);
      }
    }
  }
}
