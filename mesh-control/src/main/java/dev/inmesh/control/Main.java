package dev.inmesh.control;

import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.config.Problem;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar mesh-control.jar --config-dir DIR [--xds-port 15010] [--http-port 15014]
 * [--data-dir DIR] [--grace-period 10s] [--store etcd --etcd-endpoints URL,...]} runs the server
 * (one of several replicas with {@code --store etcd}: docs/scale-out.md);
 * {@code java -jar mesh-control.jar validate -f FILE...} checks files the way {@code istioctl
 * validate} does: exit 0 when valid, 1 with one line per error otherwise, 2 for a usage error;
 * {@code java -jar mesh-control.jar ctl …} is meshctl ({@link dev.inmesh.control.cli.Meshctl}).
 */
public final class Main {
  private static final String USAGE = """
      usage: mesh-control [--config-dir DIR] [--xds-port PORT] [--http-port PORT] [--data-dir DIR]
                          [--grace-period DURATION] [--bind ADDRESS] [--server-name NAME,...]
                          [--api-bind 127.0.0.1] [--api-tokens FILE | --admin-credential FILE]
                          [--xds-read-only-port PORT] [--ca none --insecure-xds]
                          [--ca embedded|none] [--trust-domain cluster.local] [--trust-domain-aliases TD,...] [--ca-grpc-port 15012] [--ca-https-port 15013]
                          [--ca-root-cert FILE --ca-root-key FILE]
                          [--store embedded|etcd] [--etcd-endpoints http://HOST:2379,...] [--etcd-prefix /inmesh/]
                          [--lease-ttl 10s] [--etcd-cacert FILE [--etcd-cert FILE --etcd-key FILE]]
                          [--etcd-user NAME --etcd-password-file FILE]
             mesh-control validate -f FILE [-f FILE ...]
             mesh-control ctl COMMAND ...     (meshctl: apply, get, describe, delete, analyze, status,
                                              config-dump, explain, token create; ctl --help)
      Port 0 picks a free port; the ports in use are logged.
      --bind is where xDS and the CA listen; the operator API (--http-port) listens on --api-bind,
      loopback by default, and beyond loopback only over TLS. API callers need a credential: lines
      of --api-tokens FILE (meshctl credential new prints them), or else the admin credential that
      mesh-control makes on its first start and writes to --admin-credential (default: the data
      directory's admin-credential). --server-name lists the names remote workloads and operators
      reach this server by, for its TLS certificates. xDS is mutual TLS with certificates from the
      embedded CA; --xds-read-only-port opens a plaintext port that serves config and registers no
      one. docs/security.md says who may call each port.""";

  private Main() {}

  public static void main(String[] args) throws Exception {
    // before any logger exists: the standalone jar's own logging setup, and grpc's JUL records
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "inmesh-control-logback.xml");
    }
    org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
    org.slf4j.bridge.SLF4JBridgeHandler.install();
    int status = run(args, System.out, System.err);
    if (status >= 0) {
      System.exit(status);
    }
  }

  /** Returns the exit status, or -1 when a server was started and runs until the JVM stops. */
  static int run(String[] args, PrintStream out, PrintStream err) throws IOException, InterruptedException {
    if (args.length > 0 && args[0].equals("ctl")) {
      return dev.inmesh.control.cli.Meshctl.run(java.util.Arrays.copyOfRange(args, 1, args.length), out, err, System.getenv());
    }
    if (args.length > 0 && args[0].equals("validate")) {
      return validate(List.of(args).subList(1, args.length), out, err);
    }
    MeshControlOptions options = MeshControlOptions.defaults();
    String store = "embedded";
    List<URI> etcdEndpoints = List.of();
    String etcdPrefix = "/inmesh/";
    Duration leaseTtl = Duration.ofSeconds(10);
    Path rootCert = null;
    Path rootKey = null;
    Path etcdCa = null;
    Path etcdCert = null;
    Path etcdKey = null;
    String etcdUser = null;
    Path etcdPasswordFile = null;
    boolean insecureXds = false;
    try {
      for (int i = 0; i < args.length; i++) {
        String flag = args[i];
        if (flag.equals("-h") || flag.equals("--help")) {
          out.println(USAGE);
          return 0;
        }
        if (flag.equals("--insecure-xds")) {
          insecureXds = true;
          continue;
        }
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(flag + " needs a value");
        }
        String value = args[++i];
        switch (flag) {
          case "--store" -> store = switch (value) {
            case "embedded", "etcd" -> value;
            default -> throw new IllegalArgumentException("--store must be embedded or etcd, got '" + value + "'");
          };
          case "--etcd-endpoints" -> etcdEndpoints = endpoints(value);
          case "--etcd-prefix" -> etcdPrefix = value;
          case "--lease-ttl" -> leaseTtl = duration(flag, value);
          case "--etcd-cacert" -> etcdCa = Path.of(value);
          case "--etcd-cert" -> etcdCert = Path.of(value);
          case "--etcd-key" -> etcdKey = Path.of(value);
          case "--etcd-user" -> etcdUser = value;
          case "--etcd-password-file" -> etcdPasswordFile = Path.of(value);
          case "--ca-root-cert" -> rootCert = Path.of(value);
          case "--ca-root-key" -> rootKey = Path.of(value);
          default -> options = option(options, flag, value);
        }
      }
      if (options.ca().isEmpty() && !insecureXds) {
        throw new IllegalArgumentException("with --ca none, mesh-control can verify no workload: xDS would be plaintext and"
            + " register whatever a node claims. Keep the embedded CA, or say --insecure-xds to run so on a trusted network");
      }
      if (options.ca().isPresent() && insecureXds) {
        throw new IllegalArgumentException("--insecure-xds goes with --ca none; with the embedded CA, xDS is mutual TLS"
            + " (clients without a certificate can read config on --xds-read-only-port)");
      }
      if (insecureXds) {
        options = options.withInsecureXds();
      }
      if ((rootCert == null) != (rootKey == null)) {
        throw new IllegalArgumentException("--ca-root-cert and --ca-root-key go together");
      }
      if (rootCert != null) {
        options = options.withCa(ca(options).withRoot(rootCert, rootKey));
      }
      if (store.equals("etcd")) {
        if (etcdEndpoints.isEmpty()) {
          throw new IllegalArgumentException("--store etcd needs --etcd-endpoints http://HOST:2379[,...]");
        }
        if (options.ca().isPresent() && options.ca().get().root().isEmpty()) {
          throw new IllegalArgumentException("replicas on etcd must sign under one root: give every replica "
              + "--ca-root-cert and --ca-root-key (the same files), or run with --ca none");
        }
        if (options.api().tokens().isEmpty()) {
          throw new IllegalArgumentException("replicas on etcd must accept the same operator credentials: give every"
              + " replica --api-tokens FILE (the same file; meshctl credential new prints its lines)");
        }
        if ((etcdUser == null) != (etcdPasswordFile == null)) {
          throw new IllegalArgumentException("--etcd-user and --etcd-password-file go together");
        }
        if (etcdCa == null && (etcdCert != null || etcdKey != null)) {
          throw new IllegalArgumentException("--etcd-cert and --etcd-key need --etcd-cacert and https endpoints");
        }
        options = options.withEtcd(new MeshControlOptions.Etcd(etcdEndpoints, etcdPrefix, leaseTtl,
            etcdCa == null ? java.util.Optional.empty() : java.util.Optional.of(new MeshControlOptions.EtcdTls(etcdCa,
                java.util.Optional.ofNullable(etcdCert), java.util.Optional.ofNullable(etcdKey))),
            etcdUser == null ? java.util.Optional.empty()
                : java.util.Optional.of(new MeshControlOptions.EtcdUser(etcdUser, etcdPasswordFile))).requireTlsForHttps());
      } else if (!etcdEndpoints.isEmpty() || etcdCa != null || etcdUser != null) {
        throw new IllegalArgumentException("--etcd-endpoints, --etcd-cacert and --etcd-user need --store etcd");
      }
    } catch (IllegalArgumentException e) {
      err.println("mesh-control: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    if (options.configDir().isPresent() && !Files.isDirectory(options.configDir().get())) {
      err.println("mesh-control: --config-dir " + options.configDir().get() + " is not a directory");
      return 2;
    }
    MeshControl control;
    try {
      control = MeshControl.start(options);
    } catch (IOException e) {
      err.println("mesh-control: " + e.getMessage());
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      control.close();
      stopped.countDown();
    }, "inmesh-shutdown"));
    stopped.await();
    return -1;
  }

  private static int validate(List<String> args, PrintStream out, PrintStream err) throws IOException {
    List<Path> files = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      if ((args.get(i).equals("-f") || args.get(i).equals("--filename")) && i + 1 < args.size()) {
        files.add(Path.of(args.get(++i)));
      } else {
        err.println("mesh-control validate: unexpected argument '" + args.get(i) + "'");
        err.println(USAGE);
        return 2;
      }
    }
    if (files.isEmpty()) {
      err.println("mesh-control validate: give at least one -f FILE");
      return 2;
    }
    int errors = 0;
    int resources = 0;
    ConfigParser parser = ConfigParser.defaults();
    for (Path file : dev.inmesh.control.analyze.ConfigFiles.expand(files)) {
      if (!Files.isReadable(file)) {
        out.println(file + ": cannot read the file");
        errors++;
        continue;
      }
      ParseResult result = parser.parse(file.toString(), Files.readString(file, StandardCharsets.UTF_8));
      for (Problem problem : result.problems()) {
        out.println(problem);
      }
      errors += result.errors().size();
      resources += result.resources().size();
    }
    if (errors == 0) {
      out.println("valid: " + resources + " resource(s) in " + files.size() + " path(s)");
      return 0;
    }
    return 1;
  }

  private static MeshControlOptions option(MeshControlOptions options, String flag, String value) {
    return switch (flag) {
      case "--config-dir" -> options.withConfigDir(Path.of(value));
      case "--data-dir" -> options.withDataDir(Path.of(value));
      case "--xds-port" -> options.withPorts(Integer.parseInt(value), options.httpPort());
      case "--http-port" -> options.withPorts(options.xdsPort(), Integer.parseInt(value));
      case "--grace-period" -> options.withGracePeriod(duration(flag, value));
      case "--bind" -> options.withBindAddress(value);
      case "--api-bind" -> options.withApi(options.api().withBindAddress(value));
      case "--xds-read-only-port" -> options.withXdsReadOnlyPort(Integer.parseInt(value));
      case "--api-tokens" -> options.withApi(options.api().withTokens(Path.of(value)));
      case "--admin-credential" -> options.withApi(options.api().withCredentialFile(Path.of(value)));
      case "--server-name" -> options.withServerNames(java.util.stream.Stream.concat(options.serverNames().stream(),
          java.util.Arrays.stream(value.split(",")).map(String::strip).filter(n -> !n.isEmpty())).toList());
      case "--trust-domain" -> options.withCa(ca(options).withTrustDomain(value));
      case "--trust-domain-aliases" -> options.withTrustDomainAliases(java.util.stream.Stream.concat(
          options.trustDomainAliases().stream(),
          java.util.Arrays.stream(value.split(",")).map(String::strip).filter(n -> !n.isEmpty())).toList());
      case "--ca-grpc-port" -> options.withCa(ca(options).withPorts(Integer.parseInt(value), ca(options).httpsPort()));
      case "--ca-https-port" -> options.withCa(ca(options).withPorts(ca(options).grpcPort(), Integer.parseInt(value)));
      case "--ca" -> switch (value) {
        case "embedded" -> options.ca().isPresent() ? options : options.withCa(ca(MeshControlOptions.defaults()));
        case "none" -> options.withoutCa();
        default -> throw new IllegalArgumentException("--ca must be embedded or none, got '" + value + "'");
      };
      default -> throw new IllegalArgumentException("unknown option " + flag);
    };
  }

  private static List<URI> endpoints(String value) {
    List<URI> endpoints = new ArrayList<>();
    for (String endpoint : value.split(",")) {
      URI uri = URI.create(endpoint.trim());
      if (uri.getScheme() == null || uri.getHost() == null || uri.getPort() < 0) {
        throw new IllegalArgumentException("--etcd-endpoints takes URLs such as http://127.0.0.1:2379, got '" + endpoint + "'");
      }
      endpoints.add(uri);
    }
    return endpoints;
  }

  private static MeshControlOptions.EmbeddedCa ca(MeshControlOptions options) {
    return options.ca().orElseThrow(() -> new IllegalArgumentException("the embedded CA is off (--ca none)"));
  }

  private static Duration duration(String flag, String value) {
    return dev.inmesh.control.config.SpecReader.parseDuration(value)
        .orElseThrow(() -> new IllegalArgumentException(flag + " must be a duration such as 10s, got '" + value + "'"));
  }
}
