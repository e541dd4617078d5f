package dev.inmesh.grpc;

import dev.inmesh.Mesh;
import dev.inmesh.MeshConfig;
import dev.inmesh.MeshException;
import dev.inmesh.grpc.internal.ControlServersResolverProvider;
import dev.inmesh.grpc.internal.DoorServer;
import dev.inmesh.grpc.internal.GrpcTelemetry;
import dev.inmesh.grpc.internal.MeshCertificateProviders;
import dev.inmesh.grpc.internal.MeshXdsCredentials;
import dev.inmesh.grpc.internal.ProcessXdsBootstrap;
import dev.inmesh.grpc.spi.XdsBootstraps;
import dev.inmesh.internal.telemetry.PeerMetadata;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.spi.CallRecorder;
import io.grpc.BindableService;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.xds.XdsChannelCredentials;
import io.grpc.xds.XdsServerBuilder;
import io.grpc.xds.XdsServerCredentials;
import java.lang.ref.Cleaner;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.UUID;
import java.util.WeakHashMap;
import java.util.stream.Collectors;

/**
 * Proxyless gRPC on the mesh, configured from a {@link Mesh}: the grpc-xds bootstrap is made from
 * the Mesh (mesh-control's addresses, this workload's namespace and locality, and a certificate
 * provider fed by the Mesh's CertificateManager) and installed as the process's grpc-xds
 * bootstrap (the system property {@code io.grpc.xds.bootstrapConfig}) before grpc-xds reads it, so
 * the application writes no file and sets no environment variable.
 *
 * <p>grpc-xds reads one bootstrap per process, so a process serves one workload through MeshGrpc:
 * its Mesh may open any number of channels and servers, and another workload's Mesh, or a
 * bootstrap set by hand that is not the Mesh's, gets a {@link MeshException} naming both. A process
 * that holds several workloads (a demo, a test suite) puts a
 * {@link dev.inmesh.grpc.spi.XdsBootstraps} on the class path.
 *
 * <pre>{@code
 * ManagedChannel channel = MeshGrpc.channel(mesh, "reviews:9080");         // routes, balances, mTLS from xDS
 * Server server = MeshGrpc.server(mesh, 9080, new ReviewsService()).start(); // mTLS and RBAC from xDS
 * }</pre>
 *
 * <p>Both report Istio's request metrics ({@code istio_requests_total}, …) into the Mesh's meter
 * registry, the client as {@code reporter="source"}, the server as {@code reporter="destination"}.
 *
 * <p>Channels and servers speak mutual TLS where mesh-control's clusters and listeners say so (a
 * Mesh built with a CA holds a certificate, so its peers get mTLS unless PeerAuthentication or a
 * DestinationRule says DISABLE), and plaintext otherwise.
 */
public final class MeshGrpc {
  static final String LISTENER_TEMPLATE = "grpc/server?xds.resource.listening_address=%s";
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(MeshGrpc.class);
  /**
   * Each live Mesh's way to its bootstrap, shared by all its channels and servers: weak keys, so
   * an entry goes with its Mesh, and a cleaner releases the binding then.
   */
  private static final Map<Mesh, XdsBootstraps.Binding> PER_MESH = new WeakHashMap<>();
  private static final Cleaner CLEANER = Cleaner.create();
  /** Where bootstraps come from, chosen on first use; guarded by {@link #PER_MESH}. */
  private static XdsBootstraps bootstraps;

  private MeshGrpc() {}

  /** A channel to {@code target} ({@code host:port} as clients dial it, e.g. {@code reviews:9080}). */
  public static ManagedChannel channel(Mesh mesh, String target) {
    return channelBuilder(mesh, target).build();
  }

  /** The builder of {@link #channel}, for interceptors, executors and the like. */
  public static ManagedChannelBuilder<?> channelBuilder(Mesh mesh, String target) {
    if (target.contains("://")) {
      throw new IllegalArgumentException("target is host:port as clients dial it, e.g. reviews:9080; got " + target);
    }
    // one bootstrap (one xDS node) per Mesh, however many channels it opens
    return Grpc.newChannelBuilder(binding(mesh).channelTarget(target),
            XdsChannelCredentials.create(InsecureChannelCredentials.create()))
        .intercept(telemetry(mesh).client(target));
  }

  /**
   * An xDS server on {@code port}, one the Mesh serves ({@code servePort}'s target port): its
   * listener (mTLS per PeerAuthentication, RBAC per AuthorizationPolicy) comes from mesh-control,
   * and it starts serving only once that listener has arrived. The Mesh registers the workload.
   */
  public static Server server(Mesh mesh, int port, BindableService... services) {
    XdsServerBuilder builder = serverBuilder(mesh, port);
    for (BindableService service : services) {
      builder.addService(service);
    }
    return builder.build();
  }

  /** A server with service definitions (for intercepted services). */
  public static Server server(Mesh mesh, int port, ServerServiceDefinition... services) {
    XdsServerBuilder builder = serverBuilder(mesh, port);
    for (ServerServiceDefinition service : services) {
      builder.addService(service);
    }
    return builder.build();
  }

  /**
   * A gRPC server that takes plaintext and mutual TLS on one port under PERMISSIVE, which
   * grpc-java's own xDS server cannot (istio/istio#38226). Inmesh's inbound door sits on
   * {@code port}: it accepts what the port's PeerAuthentication mode allows (STRICT, PERMISSIVE,
   * DISABLE, read per connection), terminates mesh mTLS and relays to a plain gRPC server on
   * loopback; Inmesh's RBAC engine authorizes each call with the AuthorizationPolicies mesh-control
   * sends, and Istio's request metrics go to the Mesh's registry. Services find the caller in
   * {@link #PEER}. Name the port {@code http2…} (not {@code grpc…}) so that mesh clients use mTLS
   * to it under PERMISSIVE; on a {@code grpc} port they call gRPC servers in plaintext.
   */
  public static Server permissiveServer(Mesh mesh, int port, ServerServiceDefinition... services) {
    return new DoorServer(mesh, port, List.of(services));
  }

  /** The caller of a call served by {@link #permissiveServer}: its address, and SPIFFE ID under mTLS. */
  public static final io.grpc.Context.Key<dev.inmesh.inbound.PeerInfo> PEER = DoorServer.PEER;

  /** The builder of {@link #server}, for interceptors, executors and the like. */
  public static XdsServerBuilder serverBuilder(Mesh mesh, int port) {
    MeshConfig config = mesh.config();
    if (config.ports().stream().noneMatch(p -> p.targetPort() == port)) {
      throw new IllegalArgumentException("port " + port + " is not a port this Mesh serves; it serves target ports "
          + config.ports().stream().map(p -> p.targetPort() + " (" + p.name() + ")").collect(Collectors.joining(", "))
          + ". Register it with servePort(...)");
    }
    XdsServerBuilder builder = XdsServerBuilder.forPort(port, XdsServerCredentials.create(InsecureServerCredentials.create()));
    return binding(mesh).configure(builder)
        .intercept(new dev.inmesh.grpc.internal.GrpcAuthorizationLog(mesh, port))
        .intercept(telemetry(mesh).server(mesh.inboundOperation(port)));
  }

  /**
   * The Mesh's binding to its bootstrap, made on its first channel or server. A Mesh that cannot
   * have its own bootstrap in this process fails here, before grpc-xds could speak for the wrong
   * workload.
   */
  private static XdsBootstraps.Binding binding(Mesh mesh) {
    synchronized (PER_MESH) {
      XdsBootstraps.Binding binding = PER_MESH.get(mesh);
      if (binding == null) {
        binding = bootstraps().bind(workload(mesh), bootstrap(mesh));
        PER_MESH.put(mesh, binding);
        CLEANER.register(mesh, binding::release);
      }
      return binding;
    }
  }

  /**
   * An {@link XdsBootstraps} on the class path if there is one (a process that holds several
   * workloads), else grpc-xds's process-wide bootstrap.
   */
  private static XdsBootstraps bootstraps() {
    if (bootstraps == null) {
      List<XdsBootstraps> found = ServiceLoader.load(XdsBootstraps.class, MeshGrpc.class.getClassLoader()).stream()
          .map(ServiceLoader.Provider::get).toList();
      if (found.size() > 1) {
        throw new MeshException("more than one " + XdsBootstraps.class.getName() + " on the class path: "
            + found.stream().map(b -> b.getClass().getName()).toList() + "; keep one");
      }
      if (found.isEmpty()) {
        bootstraps = ProcessXdsBootstrap.system();
      } else {
        bootstraps = found.get(0);
        log.info("gRPC channels and servers of each Mesh read their own grpc-xds bootstrap through {}, found on the"
            + " class path, instead of the process's", bootstraps.getClass().getName());
      }
    }
    return bootstraps;
  }

  /** The Mesh's workload as errors name it. */
  private static String workload(Mesh mesh) {
    MeshConfig config = mesh.config();
    return config.service().orElse("client") + "." + config.namespace() + " (service account "
        + config.serviceAccount() + ", node " + mesh.nodeId() + ")";
  }

  /** Each call's Istio metrics (into the Mesh's meter registry), access log line and span, on one recorder. */
  private static GrpcTelemetry telemetry(Mesh mesh) {
    return new GrpcTelemetry(CallRecorder.of(mesh), PeerMetadata.of(mesh.config()));
  }

  /**
   * The grpc-xds bootstrap of a Mesh. Its node is not the workload's registration (the Mesh's own
   * stream registers it) but speaks for the same workload, as a proxyless gRPC node in Istio does:
   * its id starts with the workload's name, and its metadata carries Istio's identity keys
   * (namespace, service account, workload name, labels), {@link WorkloadMetadata#OWNER} naming
   * the Mesh's node, so that mesh-control counts its load reports as that workload's traffic, and,
   * when the Mesh holds a certificate, {@code INMESH_MTLS} so that mesh-control sends mTLS clusters
   * and listeners.
   */
  static Map<String, Object> bootstrap(Mesh mesh) {
    MeshConfig config = mesh.config();
    // several replicas go in as one server whose channel fails over between them: grpc-xds would
    // otherwise stay on a dead first server with its cached config and take no updates (gRFC A71)
    String serverUri = config.controlServers().get(0);
    if (config.controlServers().size() > 1) {
      ControlServersResolverProvider.register();
      serverUri = ControlServersResolverProvider.target(config.controlServers());
    }
    // with a certificate, grpc-xds's own xDS stream is mutual TLS with it, as the Mesh's is
    String key = mesh.certificates().map(MeshCertificateProviders::register).orElse(null);
    Map<String, Object> credentials = key == null ? Map.of("type", "insecure")
        : Map.of("type", MeshXdsCredentials.NAME, "config", Map.of(MeshCertificateProviders.MANAGER_KEY, key));
    List<Object> servers = List.of(Map.of(
        "server_uri", serverUri,
        "channel_creds", List.of(credentials),
        "server_features", List.of("xds_v3")));
    String workload = config.service().orElse("client");
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put(WorkloadMetadata.NAMESPACE, config.namespace());
    metadata.put(WorkloadMetadata.SERVICE_ACCOUNT, config.serviceAccount());
    metadata.put(WorkloadMetadata.WORKLOAD_NAME, workload);
    metadata.put(WorkloadMetadata.LABELS, Map.copyOf(config.labels()));
    metadata.put(WorkloadMetadata.OWNER, mesh.nodeId());
    Map<String, Object> locality = Map.of("region", config.locality().region(), "zone", config.locality().zone(),
        "sub_zone", config.locality().subZone());
    Map<String, Object> bootstrap = new LinkedHashMap<>();
    bootstrap.put("xds_servers", servers);
    bootstrap.put("server_listener_resource_name_template", LISTENER_TEMPLATE);
    if (key != null) {
      metadata.put(WorkloadMetadata.MTLS, "true");
      bootstrap.put("certificate_providers", Map.of("default", Map.of(
          "plugin_name", MeshCertificateProviders.PLUGIN,
          "config", Map.of(MeshCertificateProviders.MANAGER_KEY, key))));
    }
    bootstrap.put("node", Map.of(
        "id", workload + "~grpc~" + UUID.randomUUID(),
        "metadata", metadata,
        "locality", locality));
    return bootstrap;
  }

}
