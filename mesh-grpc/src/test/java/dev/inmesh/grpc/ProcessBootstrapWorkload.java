package dev.inmesh.grpc;

import dev.inmesh.Mesh;
import dev.inmesh.MeshException;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.grpc.internal.ProcessXdsBootstrap;
import dev.inmesh.grpc.spi.XdsBootstraps;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.ControlPlaneAccess;
import dev.inmesh.testing.Greeter;
import dev.inmesh.testing.GreeterBackend;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLSession;

/**
 * The process {@link MeshGrpcProcessBootstrapIT} starts: one workload per JVM on grpc-xds's supported,
 * process-wide bootstrap, as a user deploys it. It prints what it saw as {@code key: value} lines,
 * which the IT checks, and exits 0 when it got that far. Its class files ({@code
 * ProcessBootstrapWorkload*.class}) are all the IT copies of mesh-grpc's test classes onto the
 * child's class path.
 */
public final class ProcessBootstrapWorkload {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private ProcessBootstrapWorkload() {}

  public static void main(String[] args) {
    try {
      run();
      System.out.flush();
      System.exit(0);
    } catch (Throwable e) {
      e.printStackTrace();
      System.exit(1);
    }
  }

  private static void run() throws Exception {
    report("bootstraps on the class path", ServiceLoader.load(XdsBootstraps.class).stream().count());
    report("bootstrap set before", System.getProperty(ProcessXdsBootstrap.CONFIG_PROPERTY) != null
        || System.getenv(ProcessXdsBootstrap.CONFIG_ENV) != null || System.getenv(ProcessXdsBootstrap.PATH_ENV) != null);
    try (MeshControl control = MeshControl.start(MeshControlOptions.ephemeral().withPollInterval(Duration.ofMillis(100)))) {
      var ca = control.ca().orElseThrow();
      String caTarget = "127.0.0.1:" + control.caGrpcPort();
      String xds = "127.0.0.1:" + control.xdsPort();
      apply(control, """
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: {name: greeter, namespace: default}
          spec:
            host: greeter
            subsets:
            - {name: v1, labels: {version: v1}}
            - {name: v2, labels: {version: v2}}
          ---
          apiVersion: networking.istio.io/v1
          kind: VirtualService
          metadata: {name: greeter, namespace: default}
          spec:
            hosts: [greeter]
            http:
            - match: [{headers: {x-version: {exact: v2}}}]
              route: [{destination: {host: greeter, subset: v2}}]
            - route: [{destination: {host: greeter, subset: v1}}]
          ---
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: {name: greeter-v1, namespace: default}
          spec:
            selector: {matchLabels: {app: greeter, version: v1}}
            mtls: {mode: STRICT}
          """);

      // this process's workload: greeter v1, serving and calling greeter through MeshGrpc
      int port = freePort();
      Mesh greeter = Mesh.builder().controlServers(xds).namespace("default")
          .service("greeter").serviceAccount("greeter").label("app", "greeter").label("version", "v1")
          .servePort("grpc", 9000, port)
          .certificateAuthority(caTarget, ca.trustBundle().toPem(), token(control, "greeter"))
          .readyTimeout(WAIT)
          .build();
      AtomicReference<String> lastPeer = new AtomicReference<>("no call");
      ServerInterceptor peers = new ServerInterceptor() {
        @Override
        public <Q, A> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, A> call, io.grpc.Metadata headers,
            io.grpc.ServerCallHandler<Q, A> next) {
          lastPeer.set(peerOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION)));
          return next.startCall(call, headers);
        }
      };
      Server server = MeshGrpc.server(greeter, port,
          ServerInterceptors.intercept(Greeter.service("v1", Duration.ZERO), peers)).start();
      // greeter v2 is no Mesh: a plain server registered beside it, as a sidecar agent would
      ControlPlaneAccess access = new ControlPlaneAccess(xds, Optional.empty(), Optional.of(new ControlPlaneAccess.Ca(
          caTarget, ca.trustBundle().toPem(), (namespace, account) -> token(control, account))));
      try (GreeterBackend v2 = GreeterBackend.start(access, "greeter", "default", 9000, "v2", Duration.ZERO)) {
        Await.until(() -> control.workloads().size() == 2, WAIT, "greeter v1 and v2 to register");
        report("bootstrap installed", System.getProperty(ProcessXdsBootstrap.CONFIG_PROPERTY) != null);
        report("node owner is the Mesh", System.getProperty(ProcessXdsBootstrap.CONFIG_PROPERTY)
            .contains("\"" + greeter.nodeId() + "\""));

        ManagedChannel channel = MeshGrpc.channel(greeter, "greeter:9000");
        ManagedChannel second = MeshGrpc.channel(greeter, "greeter:9000");
        try {
          Await.until(() -> answer(channel, Map.of()).equals("v1") && answer(channel, Map.of("x-version", "v2")).equals("v2"),
              WAIT, "xDS routes: v1 by default, v2 for x-version: v2");
          report("answer by default", answer(channel, Map.of()));
          report("answer for x-version v2", answer(channel, Map.of("x-version", "v2")));
          report("answer on a second channel", answer(second, Map.of()));
          report("caller seen by v1", lastPeer.get());
          report("grpc-xds nodes", control.clients().stream().map(c -> c.nodeId())
              .filter(id -> id.startsWith("greeter~grpc~")).distinct().count());
        } finally {
          channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
          second.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }

        // another workload in the same JVM: grpc-xds has read greeter's bootstrap, so it is refused
        try (Mesh ratings = Mesh.builder().controlServers(xds).namespace("default")
            .service("ratings").serviceAccount("ratings").servePort("grpc", 9000, freePort())
            .certificateAuthority(caTarget, ca.trustBundle().toPem(), token(control, "ratings"))
            .readyTimeout(WAIT).build()) {
          report("second workload's channel", refusal(() -> MeshGrpc.channel(ratings, "greeter:9000")));
          report("second workload's server", refusal(() -> MeshGrpc.server(ratings, ratings.config().ports().get(0).targetPort(),
              Greeter.service("ratings", Duration.ZERO))));
        }
      } finally {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        greeter.close();
      }
    }
  }

  /** The caller's SPIFFE ID as the server's TLS saw it, or "plaintext". */
  private static String peerOf(SSLSession session) {
    if (session == null) {
      return "plaintext";
    }
    try {
      return dev.inmesh.identity.SpiffeId.of((X509Certificate) session.getPeerCertificates()[0])
          .map(Object::toString).orElse("no SPIFFE ID");
    } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
      return "unverified";
    }
  }

  private static void apply(MeshControl control, String yaml) {
    ApplyResult result = control.apply("process-bootstrap", yaml);
    if (!result.errors().isEmpty()) {
      throw new IllegalStateException("applying the config: " + result.errors());
    }
  }

  private static String token(MeshControl control, String account) {
    return control.ca().orElseThrow().joinTokens().create("default", account, Duration.ofMinutes(10)).value();
  }

  private static String answer(ManagedChannel channel, Map<String, String> headers) {
    try {
      return Greeter.versionOf(Greeter.sayHello(channel, "x", headers, Duration.ofSeconds(5)));
    } catch (io.grpc.StatusRuntimeException e) {
      return e.getStatus().getCode().toString();
    }
  }

  private static String refusal(Runnable attempt) {
    try {
      attempt.run();
      return "not refused";
    } catch (MeshException e) {
      return e.getClass().getSimpleName() + ": " + e.getMessage();
    }
  }

  private static void report(String key, Object value) {
    System.out.println("REPORT " + key + ": " + value);
  }

  private static int freePort() throws java.io.IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
