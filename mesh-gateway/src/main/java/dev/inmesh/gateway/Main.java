package dev.inmesh.gateway;

import dev.inmesh.Mesh;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar mesh-gateway.jar --control-servers HOST:PORT --label istio=ingressgateway ...}
 * runs a gateway: a Mesh of its namespace and service account, with a certificate from the CA, that
 * serves the Gateways selecting its labels until the process is stopped.
 */
public final class Main {
  private static final String USAGE = """
      usage: mesh-gateway --control-servers HOST:PORT[,HOST:PORT...]
                          [--namespace istio-system] [--service-account istio-ingressgateway]
                          [--label KEY=VALUE ...]            (default: istio=ingressgateway)
                          [--ca HOST:PORT --ca-root FILE --join-token-file FILE]
                          [--credentials-dir DIR]            (default: /etc/inmesh/gateway-credentials)
                          [--bind ADDRESS] [--port GATEWAY_PORT=LOCAL_PORT ...]
                          [--service NAME]                   (e.g. istio-egressgateway)
                          [--max-connections N] [--workers N]
      The gateway serves the ports of the Gateways whose selector its labels match. A Gateway's
      credentialName X is read from DIR/X/tls.crt, DIR/X/tls.key and, for MUTUAL, DIR/X/ca.crt.
      --port serves a Gateway port on another local port (0: any free port; the port is logged).
      --service registers the gateway in the mesh as the service NAME.<namespace>.svc.cluster.local,
      with each --port GATEWAY_PORT=LOCAL_PORT as a service port GATEWAY_PORT that clients dial and
      the gateway takes on LOCAL_PORT (a Service port and its pod's targetPort); an egress gateway
      needs it, so that mesh clients can route to it.""";

  private Main() {}

  public static void main(String[] args) throws Exception {
    // before any logger exists: the standalone jar's own logging setup
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "inmesh-gateway-logback.xml");
    }
    int status = run(args, System.err);
    if (status >= 0) {
      System.exit(status);
    }
  }

  /** Returns an exit status for a usage error; otherwise serves until the JVM is stopped and returns -1. */
  static int run(String[] args, PrintStream err) throws IOException, InterruptedException {
    Mesh.Builder mesh = Mesh.builder().namespace("istio-system").serviceAccount("istio-ingressgateway").gateway();
    GatewayOptions options = GatewayOptions.defaults();
    List<String> servers = new ArrayList<>();
    List<String[]> labels = new ArrayList<>();
    List<int[]> ports = new ArrayList<>();
    String service = null;
    String ca = null;
    Path caRoot = null;
    Path tokenFile = null;
    int maxConnections = options.maxConnections();
    try {
      for (int i = 0; i < args.length; i++) {
        String flag = args[i];
        if (flag.equals("--help") || flag.equals("-h")) {
          err.println(USAGE);
          return 0;
        }
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(flag + " needs a value");
        }
        String value = args[++i];
        switch (flag) {
          case "--control-servers" -> servers.addAll(List.of(value.split(",")));
          case "--namespace" -> mesh.namespace(value);
          case "--service-account" -> mesh.serviceAccount(value);
          case "--label" -> {
            int eq = value.indexOf('=');
            if (eq < 1) {
              throw new IllegalArgumentException("--label must be KEY=VALUE, got '" + value + "'");
            }
            labels.add(new String[] {value.substring(0, eq), value.substring(eq + 1)});
          }
          case "--ca" -> ca = value;
          case "--ca-root" -> caRoot = Path.of(value);
          case "--join-token-file" -> tokenFile = Path.of(value);
          case "--credentials-dir" -> options = options.withCredentialsDir(Path.of(value));
          case "--bind" -> options = options.withBindAddress(value);
          case "--port" -> {
            String[] pair = value.split("=", 2);
            if (pair.length != 2) {
              throw new IllegalArgumentException("--port must be GATEWAY_PORT=LOCAL_PORT, got '" + value + "'");
            }
            int gatewayPort = Integer.parseInt(pair[0]);
            int localPort = Integer.parseInt(pair[1]);
            options = options.withLocalPort(gatewayPort, localPort);
            ports.add(new int[] {gatewayPort, localPort});
          }
          case "--service" -> service = value;
          case "--max-connections" -> maxConnections = Integer.parseInt(value);
          case "--workers" -> options = options.withWorkers(Integer.parseInt(value), options.queuedRequests());
          default -> throw new IllegalArgumentException("unknown option " + flag);
        }
      }
      if (servers.isEmpty()) {
        throw new IllegalArgumentException("--control-servers is required");
      }
      if ((ca == null) != (caRoot == null) || (ca == null) != (tokenFile == null)) {
        throw new IllegalArgumentException("--ca, --ca-root and --join-token-file go together");
      }
      if (service != null) {
        if (ports.isEmpty()) {
          throw new IllegalArgumentException("--service needs the ports it serves: --port GATEWAY_PORT=LOCAL_PORT");
        }
        mesh.service(service);
        for (int[] port : ports) {
          if (port[1] == 0) {
            // clients must be told where to connect before the port is bound
            throw new IllegalArgumentException("--service registers --port " + port[0] + "=0, which has no port yet;"
                + " give the local port");
          }
          mesh.servePort("http-" + port[0], port[0], port[1]);
        }
      }
      options = options.withLimits(maxConnections, options.maxHeaderBytes(), options.maxBodyBytes());
    } catch (IllegalArgumentException e) {
      err.println("mesh-gateway: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    if (labels.isEmpty()) {
      labels.add(new String[] {"istio", "ingressgateway"});
    }
    labels.forEach(l -> mesh.label(l[0], l[1]));
    mesh.controlServers(servers.toArray(String[]::new));
    if (ca != null) {
      mesh.certificateAuthority(ca, Files.readString(caRoot, StandardCharsets.UTF_8),
          Files.readString(tokenFile, StandardCharsets.UTF_8).strip());
    }
    Mesh built = mesh.build();
    MeshGateway gateway = MeshGateway.start(built, options);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      gateway.close();
      built.close();
      stopped.countDown();
    }, "inmesh-gateway-shutdown"));
    stopped.await();
    return -1;
  }
}
