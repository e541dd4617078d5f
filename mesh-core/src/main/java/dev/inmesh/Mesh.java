package dev.inmesh;

import dev.inmesh.Locality;
import dev.inmesh.Ticker;
import dev.inmesh.commons.internal.NettyJfr;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.outbound.OutboundPipeline;
import dev.inmesh.internal.xds.AdsClient;
import dev.inmesh.internal.xds.AdsNode;
import dev.inmesh.internal.xds.ControlPlaneChannels;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.internal.xds.XdsResources;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.random.RandomGenerator;

/**
 * The front door of Inmesh in an application: it connects to mesh-control, registers this
 * workload, keeps the current {@link MeshSnapshot}, and runs the outbound pipeline that clients
 * (OkHttp, gRPC) call through.
 *
 * <pre>{@code
 * Mesh mesh = Mesh.builder()
 *     .controlServers("127.0.0.1:15010")
 *     .service("productpage").namespace("default").label("version", "v1")
 *     .servePort("http", 9080, 9080)
 *     .build();
 * mesh.awaitReady(Duration.ofSeconds(5));
 * }</pre>
 */
public final class Mesh implements AutoCloseable {
  private final MeshConfig config;
  private final ScheduledExecutorService sync;
  private final AdsClient ads;
  private final AtomicReference<MeshSnapshot> snapshot;
  private final OutboundPipeline outbound;
  private final Object readyLock = new Object();
  private final java.util.Optional<dev.inmesh.internal.security.CertificateManager> certificates;
  private final java.util.Optional<dev.inmesh.internal.security.CaClient> caClient;

  private final io.micrometer.core.instrument.MeterRegistry meterRegistry;
  private final dev.inmesh.tracing.Tracing tracing;
  private final dev.inmesh.internal.telemetry.AccessLog accessLog;
  private final dev.inmesh.internal.outbound.ClusterRuntimes runtimes;
  private final dev.inmesh.internal.xds.LoadReporter loadReporter;
  private final String nodeId;

  private Mesh(MeshConfig config, Ticker ticker, RandomGenerator random, java.util.Optional<CaSettings> ca,
      io.micrometer.core.instrument.MeterRegistry meterRegistry, dev.inmesh.tracing.Tracing tracing,
      dev.inmesh.internal.telemetry.AccessLog accessLog, Duration reconnectHold) {
    NettyJfr.off();
    this.config = config;
    this.meterRegistry = meterRegistry;
    this.tracing = tracing;
    this.accessLog = accessLog;
    java.util.concurrent.ScheduledThreadPoolExecutor executor = new java.util.concurrent.ScheduledThreadPoolExecutor(1, r -> {
      Thread thread = new Thread(r, "inmesh-xds");
      thread.setDaemon(true);
      return thread;
    });
    // a pending certificate rotation or reconnect must not hold close() up
    executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    executor.setContinueExistingPeriodicTasksAfterShutdownPolicy(false);
    this.sync = executor;
    this.runtimes = new dev.inmesh.internal.outbound.ClusterRuntimes(ticker, random, meterRegistry);
    this.snapshot = new AtomicReference<>(MeshSnapshot.empty(runtimes));
    AdsNode node = AdsNode.of(config, ca.isPresent());
    this.nodeId = node.id();
    AtomicReference<dev.inmesh.internal.security.CertificateManager> manager = new AtomicReference<>();
    java.util.function.Function<String, io.grpc.ManagedChannel> channels;
    // the root this workload was given, and the mesh's trust bundle as its certificates bring it
    java.util.function.Supplier<List<java.security.cert.X509Certificate>> meshRoots;
    if (ca.isPresent()) {
      List<java.security.cert.X509Certificate> given = dev.inmesh.internal.security.CaClient.readPem(ca.get().rootCertPem());
      meshRoots = () -> {
        List<java.security.cert.X509Certificate> roots = new ArrayList<>(given);
        if (manager.get() != null) {
          manager.get().trustAnchors().stream().filter(r -> !roots.contains(r)).forEach(roots::add);
        }
        return roots;
      };
    } else {
      meshRoots = List::of;
    }
    if (ca.isPresent()) {
      // mutual TLS to mesh-control: this workload's certificate, and the server's checked by name against the mesh roots
      channels = server -> ControlPlaneChannels.mutualTls(server, manager.get().keyManager(),
          new dev.inmesh.internal.security.RootsTrustManager(meshRoots));
    } else {
      channels = ControlPlaneChannels::plaintext;
    }
    this.ads = new AdsClient(config.controlServers(), node, sync, channels,
        this::publish, new SplittableRandom(random.nextLong()), reconnectHold);
    this.outbound = new OutboundPipeline(snapshotSource(), ticker, random);
    // load reports go on the ADS stream's channel (one connection to the control server, as
    // grpc-java's xDS client keeps): after a fail-over, to the replica that serves this workload now
    this.loadReporter = new dev.inmesh.internal.xds.LoadReporter(ads::channel, node, () -> snapshot.get().clusters(), sync);
    if (ca.isPresent()) {
      dev.inmesh.identity.SpiffeId identity = new dev.inmesh.identity.SpiffeId(ca.get().trustDomain(), config.namespace(),
          config.serviceAccount());
      // the CA's own certificate is checked against the mesh roots as they rotate, as mesh-control's is
      dev.inmesh.internal.security.CaClient client = new dev.inmesh.internal.security.CaClient(ca.get().targets(), meshRoots,
          () -> java.util.Optional.ofNullable(ca.get().joinToken()),
          () -> manager.get() == null ? java.util.Optional.empty() : manager.get().credentials());
      manager.set(new dev.inmesh.internal.security.CertificateManager(identity, client, ca.get().ttl(), java.time.Clock.systemUTC(),
          dev.inmesh.internal.security.CertificateManager.Scheduler.of(sync)));
      this.caClient = java.util.Optional.of(client);
      this.certificates = java.util.Optional.of(manager.get());
      new dev.inmesh.internal.telemetry.CertificateMetrics(manager.get()).bindTo(meterRegistry);
    } else {
      this.caClient = java.util.Optional.empty();
      this.certificates = java.util.Optional.empty();
    }
  }

  /** Where this workload gets its certificate: the CA's gRPC addresses, its root, a join token. */
  private record CaSettings(List<String> targets, String rootCertPem, String joinToken, String trustDomain, Duration ttl) {}

  /**
   * Where this workload's meters go: Istio's request metrics from its servers and clients, and its
   * certificate's expiry. Micrometer's global registry unless the builder was given one.
   */
  public io.micrometer.core.instrument.MeterRegistry meterRegistry() {
    return meterRegistry;
  }

  /** Where the adapters' spans go; {@link dev.inmesh.tracing.Tracing#NONE} (propagation only) by default. */
  public dev.inmesh.tracing.Tracing tracing() {
    return tracing;
  }

  /** The access log every adapter writes, one line per request, on the SLF4J logger {@code inmesh.access}. */
  public dev.inmesh.internal.telemetry.AccessLog accessLog() {
    return accessLog;
  }

  /**
   * The operation name of the spans this workload serves on {@code port}, as Istio names them:
   * {@code reviews.default.svc.cluster.local:9080/*}.
   */
  public String inboundOperation(int port) {
    String host = config.service().map(s -> s + "." + config.namespace() + ".svc.cluster.local").orElse(config.address());
    int servicePort = config.ports().stream().filter(p -> p.targetPort() == port).mapToInt(ServicePort::number)
        .findFirst().orElse(port);
    return host + ":" + servicePort + "/*";
  }

  /** This workload's certificates, when the Mesh was built with a CA. */
  public java.util.Optional<dev.inmesh.internal.security.CertificateManager> certificates() {
    return certificates;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Gets the workload certificate first, when there is a CA, then opens the ADS stream with it:
   * mesh-control's xDS port is mutual TLS, and the identity it registers is the certificate's.
   */
  private Mesh start() {
    if (certificates.isPresent()) {
      try {
        certificates.get().start();
      } catch (java.io.IOException e) {
        close();
        throw new MeshException("no workload certificate for " + certificates.get().identity() + ": " + e.getMessage(), e);
      }
    }
    ads.start();
    loadReporter.start();
    return this;
  }

  public MeshConfig config() {
    return config;
  }

  /**
   * The id of this Mesh's xDS node: the workload's registration when it serves a service. Other
   * xDS clients in this process (a grpc-xds channel) name it as their {@link WorkloadMetadata#OWNER}.
   */
  public String nodeId() {
    return nodeId;
  }

  /** The config in force now; it changes atomically, never in part. */
  public MeshSnapshot snapshot() {
    return snapshot.get();
  }

  public OutboundPipeline outbound() {
    return outbound;
  }

  /** What the outbound pipeline reads from this Mesh: the config once ready (waiting for it first), the address, the certificate. */
  private dev.inmesh.internal.outbound.SnapshotSource snapshotSource() {
    return new dev.inmesh.internal.outbound.SnapshotSource() {
      @Override
      public MeshSnapshot ready() {
        MeshSnapshot current = snapshot.get();
        return current.isReady() ? current : awaitReady(config.readyTimeout());
      }

      @Override
      public String sourceAddress() {
        return config.address();
      }

      @Override
      public boolean hasMeshCertificate() {
        return certificates.isPresent();
      }
    };
  }

  /**
   * The policy mesh-control sent for this workload's inbound {@code port} (the port it listens
   * on): mTLS mode and authorization. Empty until it has arrived, or when this Mesh serves no such port.
   */
  public java.util.Optional<dev.inmesh.inbound.InboundPolicy> inbound(int port) {
    return snapshot.get().inbound(config.address(), port);
  }

  /**
   * Waits until the first complete config has arrived. Throws a {@link MeshException} that says
   * what is still missing when {@code timeout} passes first.
   */
  public MeshSnapshot awaitReady(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (readyLock) {
      while (!snapshot.get().isReady()) {
        long remaining = deadline - System.nanoTime();
        if (remaining <= 0) {
          throw new MeshException("no mesh config after " + timeout.toMillis() + " ms; still waiting for " + ads.waitingFor());
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(readyLock, remaining);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new MeshException("interrupted while waiting for mesh config", e);
        }
      }
    }
    return snapshot.get();
  }

  /** For error messages: what the ADS client still waits for. */
  public String waitingFor() {
    return ads.waitingFor();
  }

  private void publish(XdsResources resources) {
    countXdsChanges(snapshot.get().resources(), resources);
    MeshSnapshot next = snapshot.get().next(resources);
    snapshot.set(next);
    if (next.isReady()) {
      synchronized (readyLock) {
        readyLock.notifyAll();
      }
    }
  }

  /**
   * {@code inmesh.xds.updates{type}} for every accepted new version of a type and
   * {@code inmesh.xds.nacks{type}} for every refused one, so that a NACK shows on a dashboard.
   */
  private void countXdsChanges(XdsResources before, XdsResources after) {
    after.versions().forEach((type, version) -> {
      if (!version.isEmpty() && !version.equals(before.versions().get(type))) {
        io.micrometer.core.instrument.Counter.builder("inmesh.xds.updates")
            .description("xDS responses this client accepted, per resource type")
            .tag("type", type)
            .register(meterRegistry)
            .increment();
      }
    });
    after.lastNacks().forEach((type, nack) -> {
      if (!nack.equals(before.lastNacks().get(type))) {
        io.micrometer.core.instrument.Counter.builder("inmesh.xds.nacks")
            .description("xDS responses this client refused, per resource type; the reason is in the log and in mesh-control's /debug/clients")
            .tag("type", type)
            .register(meterRegistry)
            .increment();
      }
    });
  }

  @Override
  public void close() {
    certificates.ifPresent(dev.inmesh.internal.security.CertificateManager::close);
    caClient.ifPresent(dev.inmesh.internal.security.CaClient::close);
    loadReporter.close();
    ads.close();
    outbound.close();
    sync.shutdown();
    try {
      sync.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    runtimes.close();
  }

  /** Builds a {@link Mesh}; only the control servers are required. */
  public static final class Builder {
    static final String TLS_MODE_LABEL = "security.istio.io/tlsMode";
    private final List<String> servers = new ArrayList<>();
    private String namespace = WorkloadMetadata.DEFAULT_NAMESPACE;
    private String service;
    private String serviceAccount = "default";
    private final Map<String, String> labels = new LinkedHashMap<>();
    private Locality locality = Locality.UNKNOWN;
    private String address = "127.0.0.1";
    private final List<ServicePort> ports = new ArrayList<>();
    private Duration readyTimeout = Duration.ofSeconds(10);
    private Duration reconnectHold = AdsClient.RECONNECT_HOLD;
    private MeshConfig.Role role = MeshConfig.Role.WORKLOAD;
    private Ticker ticker = Ticker.system();
    private RandomGenerator random = new java.util.Random();
    private CaSettings ca;
    private io.micrometer.core.instrument.MeterRegistry meterRegistry = io.micrometer.core.instrument.Metrics.globalRegistry;
    private dev.inmesh.tracing.Tracing tracing = dev.inmesh.tracing.Tracing.NONE;
    private dev.inmesh.internal.telemetry.AccessLog accessLog = dev.inmesh.internal.telemetry.AccessLog.envoyDefault();

    private Builder() {}

    /** Where meters go (default: Micrometer's global registry); e.g. a PrometheusMeterRegistry. */
    /** Spans for every call in and out, e.g. {@code new MicrometerTracing(tracer)}; none by default. */
    public Builder tracing(dev.inmesh.tracing.Tracing tracing) {
      this.tracing = java.util.Objects.requireNonNull(tracing, "tracing");
      return this;
    }

    /**
     * The access log's format, in Envoy's format commands ({@code %RESPONSE_CODE%} …); Envoy's
     * default format by default.
     *
     * @throws IllegalArgumentException naming a command that is not supported
     */
    public Builder accessLogFormat(String format) {
      this.accessLog = dev.inmesh.internal.telemetry.AccessLog.of(format);
      return this;
    }

    public Builder meterRegistry(io.micrometer.core.instrument.MeterRegistry registry) {
      this.meterRegistry = java.util.Objects.requireNonNull(registry, "registry");
      return this;
    }

    /**
     * Gets this workload a SPIFFE certificate from the mesh CA at {@code target} ({@code host:port}
     * of its gRPC API), trusting {@code rootCertPem} for the CA's own TLS, and paying for the first
     * certificate with {@code joinToken}. Renewals present the current certificate.
     */
    public Builder certificateAuthority(String target, String rootCertPem, String joinToken) {
      return certificateAuthorities(List.of(target), rootCertPem, joinToken);
    }

    /**
     * As {@link #certificateAuthority}, with the CA of every mesh-control replica ({@code
     * host:port} of each gRPC API) in order of preference: replicas sign under one root, so a
     * request that cannot reach one goes to the next.
     */
    public Builder certificateAuthorities(List<String> targets, String rootCertPem, String joinToken) {
      this.ca = new CaSettings(List.copyOf(targets), rootCertPem, joinToken, "cluster.local", Duration.ofHours(24));
      return this;
    }

    /** The trust domain and lifetime of the workload certificate (default cluster.local, 24 h). */
    public Builder certificate(String trustDomain, Duration ttl) {
      if (ca == null) {
        throw new IllegalStateException("call certificateAuthority(...) first");
      }
      this.ca = new CaSettings(ca.targets(), ca.rootCertPem(), ca.joinToken(), trustDomain, ttl);
      return this;
    }

    /** Control servers in order of preference; the client fails over to the next. */
    public Builder controlServers(String... hostPorts) {
      servers.addAll(List.of(hostPorts));
      return this;
    }

    public Builder namespace(String namespace) {
      this.namespace = namespace;
      return this;
    }

    /** Registers this process as a workload of {@code service}; leave unset for a pure client. */
    public Builder service(String service) {
      this.service = service;
      return this;
    }

    public Builder serviceAccount(String serviceAccount) {
      this.serviceAccount = serviceAccount;
      return this;
    }

    public Builder label(String key, String value) {
      labels.put(key, value);
      return this;
    }

    public Builder locality(Locality locality) {
      this.locality = locality;
      return this;
    }

    public Builder address(String address) {
      this.address = address;
      return this;
    }

    /**
     * A port this workload serves: clients dial {@code servicePort}, it listens on {@code targetPort}.
     * The protocol follows Istio's port naming: {@code grpc} or {@code grpc-*} is gRPC,
     * {@code http2}/{@code http2-*} HTTP/2, anything else HTTP.
     */
    public Builder servePort(String name, int servicePort, int targetPort) {
      ports.add(new ServicePort(name, servicePort, targetPort, protocolOf(name)));
      return this;
    }

    private static String protocolOf(String portName) {
      String prefix = portName.contains("-") ? portName.substring(0, portName.indexOf('-')) : portName;
      return switch (prefix.toLowerCase(java.util.Locale.ROOT)) {
        case "grpc" -> "GRPC";
        case "http2" -> "HTTP2";
        default -> "HTTP";
      };
    }

    /** How long a call made before config arrives may wait (default 10 s). */
    public Builder readyTimeout(Duration timeout) {
      this.readyTimeout = timeout;
      return this;
    }

    /**
     * How long, after reconnecting to a control server, an update may add and change config but
     * not remove it (default 30 s): a control server that has just restarted may not have heard
     * from every workload yet. A removal the config really made takes effect when the hold ends.
     * Zero turns the hold off.
     */
    public Builder reconnectHold(Duration hold) {
      if (hold.isNegative()) {
        throw new IllegalArgumentException("reconnectHold must not be negative, got " + hold);
      }
      this.reconnectHold = hold;
      return this;
    }

    /** For tests: time and randomness. */
    public Builder ticker(Ticker ticker) {
      this.ticker = ticker;
      return this;
    }

    /**
     * Makes this Mesh an Istio gateway (mesh-gateway does): mesh-control sends it, besides the
     * mesh's routes and clusters, the listeners and routes of the Gateways whose {@code selector}
     * its {@linkplain #label labels} match.
     */
    public Builder gateway() {
      this.role = MeshConfig.Role.GATEWAY;
      return this;
    }

    public Builder random(RandomGenerator random) {
      this.random = random;
      return this;
    }

    public Mesh build() {
      if (ca != null && role != MeshConfig.Role.GATEWAY) {
        // Istio's label for a workload that terminates mesh mTLS: clients use auto-mTLS to reach it.
        // A gateway's ports take what its Gateway servers say (plaintext, or mTLS by ISTIO_MUTUAL),
        // so auto-mTLS must not assume mTLS: a gateway does not carry the label
        labels.putIfAbsent(TLS_MODE_LABEL, "istio");
      }
      MeshConfig config = new MeshConfig(servers, namespace, Optional.ofNullable(service), serviceAccount, labels,
          locality, address, ports, readyTimeout, role);
      return new Mesh(config, ticker, random, java.util.Optional.ofNullable(ca), meterRegistry, tracing, accessLog,
          reconnectHold).start();
    }
  }
}
