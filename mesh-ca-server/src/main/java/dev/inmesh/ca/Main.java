package dev.inmesh.ca;

import dev.inmesh.ca.internal.DurableFiles;
import dev.inmesh.ca.internal.Pem;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standalone CA. {@code java -jar mesh-ca-server.jar --data-dir DIR ...} runs the server;
 * {@code java -jar mesh-ca-server.jar token create --data-dir DIR --namespace NS --service-account SA}
 * asks a running server for a join token through its admin endpoint, authenticated by the admin
 * token that the server keeps in {@code DIR/admin-token} (mode 0600).
 */
public final class Main {
  static final String ADMIN_TOKEN_FILE = "admin-token";
  private static final String USAGE = """
      usage: mesh-ca-server --data-dir DIR [--trust-domain cluster.local] [--grpc-port 15012] [--https-port 15013]
                            [--bind 127.0.0.1] [--root-cert FILE --root-key FILE] [--default-ttl 24h] [--max-ttl 24h]
                            [--server-name NAME ...]
             mesh-ca-server token create --data-dir DIR --namespace NS --service-account SA [--ttl 1h]
                            [--server https://localhost:15013]
      Port 0 picks a free port; the ports in use are logged. Durations: 90s, 30m, 24h, 7d.""";
  private static final Pattern DURATION = Pattern.compile("(\\d+)(s|m|h|d)?");

  private Main() {}

  public static void main(String[] args) throws Exception {
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "inmesh-ca-logback.xml");
    }
    org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
    org.slf4j.bridge.SLF4JBridgeHandler.install();
    int status = run(args, System.out, System.err);
    if (status >= 0) {
      System.exit(status);
    }
  }

  /** Returns the exit status, or -1 when the server was started and runs until the JVM stops. */
  static int run(String[] args, PrintStream out, PrintStream err) throws IOException, InterruptedException {
    boolean tokenCreate = args.length >= 2 && args[0].equals("token") && args[1].equals("create");
    Map<String, List<String>> flags;
    try {
      flags = flags(List.of(args).subList(tokenCreate ? 2 : 0, args.length));
    } catch (IllegalArgumentException e) {
      return usage(err, e.getMessage());
    }
    if (flags.containsKey("--help") || flags.containsKey("-h")) {
      out.println(USAGE);
      return 0;
    }
    try {
      return tokenCreate ? createToken(flags, out, err) : serve(flags);
    } catch (IllegalArgumentException e) {
      return usage(err, e.getMessage());
    } catch (CaException e) {
      err.println("mesh-ca-server: " + e.getMessage());
      return 1;
    }
  }

  private static int serve(Map<String, List<String>> flags) throws IOException, InterruptedException {
    allow(flags, "--data-dir", "--trust-domain", "--grpc-port", "--https-port", "--bind", "--root-cert", "--root-key",
        "--default-ttl", "--max-ttl", "--server-name");
    Path dataDir = Path.of(required(flags, "--data-dir"));
    CaConfig config = CaConfig.of(single(flags, "--trust-domain", "cluster.local"), dataDir);
    Duration defaultTtl = duration(single(flags, "--default-ttl", "24h"));
    config = config.withLeafTtl(defaultTtl, duration(single(flags, "--max-ttl", single(flags, "--default-ttl", "24h"))));
    if (flags.containsKey("--root-cert") != flags.containsKey("--root-key")) {
      throw new IllegalArgumentException("--root-cert and --root-key go together");
    }
    if (flags.containsKey("--root-cert")) {
      config = config.withRootFiles(Path.of(required(flags, "--root-cert")), Path.of(required(flags, "--root-key")));
    }
    Logger log = LoggerFactory.getLogger(Main.class);
    CertificateAuthority ca = CertificateAuthority.builder(config).listener(event -> {
      if (event instanceof CaEvent.Issued issued) {
        log.info("issued {} serial {} until {}{}", issued.identity(), issued.serialNumber().toString(16),
            issued.notAfter(), issued.renewal() ? " (renewal)" : "");
      } else if (event instanceof CaEvent.Refused refused) {
        log.info("refused: {}: {}", refused.reason(), refused.message());
      }
    }).build();
    CaServerOptions options = CaServerOptions.defaults()
        .withBindAddress(single(flags, "--bind", "127.0.0.1"))
        .withPorts(port(single(flags, "--grpc-port", "15012")), port(single(flags, "--https-port", "15013")))
        .withServerNames(flags.getOrDefault("--server-name", List.of()))
        .withAdminToken(adminToken(dataDir));
    log.info("root {} in {}; admin token in {}", ca.rootCertificate().getSubjectX500Principal().getName(),
        config.rootFiles().map(f -> f.certificate().toString()).orElse(dataDir.toString()),
        dataDir.resolve(ADMIN_TOKEN_FILE));
    CaServer server = CaServer.start(ca, options);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      stopped.countDown();
    }, "inmesh-ca-shutdown"));
    stopped.await();
    return -1;
  }

  private static int createToken(Map<String, List<String>> flags, PrintStream out, PrintStream err)
      throws IOException, InterruptedException {
    allow(flags, "--data-dir", "--namespace", "--service-account", "--ttl", "--server");
    Path dataDir = Path.of(required(flags, "--data-dir"));
    Path tokenFile = dataDir.resolve(ADMIN_TOKEN_FILE);
    Path bundleFile = dataDir.resolve("trust-bundle.pem");
    if (!Files.isReadable(tokenFile) || !Files.isReadable(bundleFile)) {
      err.println("mesh-ca-server: " + dataDir + " holds no admin-token and trust-bundle.pem; start the server first");
      return 1;
    }
    String body = "{\"namespace\": \"" + jsonSafe(required(flags, "--namespace")) + "\", \"serviceAccount\": \""
        + jsonSafe(required(flags, "--service-account")) + "\", \"ttlSeconds\": "
        + duration(single(flags, "--ttl", "1h")).toSeconds() + "}";
    URI server = URI.create(single(flags, "--server", "https://localhost:15013") + "/v1/join-tokens");
    HttpClient client = HttpClient.newBuilder()
        .sslContext(trusting(Pem.decodeCertificates(Files.readString(bundleFile, StandardCharsets.US_ASCII))))
        .connectTimeout(Duration.ofSeconds(10))
        .build();
    HttpResponse<String> response = client.send(HttpRequest.newBuilder(server)
        .header("Authorization", "Bearer " + Files.readString(tokenFile, StandardCharsets.US_ASCII).trim())
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      err.println("mesh-ca-server: " + response.statusCode() + " " + response.body());
      return 1;
    }
    Matcher token = Pattern.compile("\"token\":\\s*\"([^\"]+)\"").matcher(response.body());
    if (!token.find()) {
      err.println("mesh-ca-server: unexpected answer " + response.body());
      return 1;
    }
    out.println(token.group(1));
    return 0;
  }

  /** The admin token kept in the data directory, created (mode 0600, written whole or not at all) on first start. */
  static String adminToken(Path dataDir) throws IOException {
    Path file = dataDir.resolve(ADMIN_TOKEN_FILE);
    if (Files.exists(file)) {
      return Files.readString(file, StandardCharsets.US_ASCII).trim();
    }
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    DurableFiles.createPrivateDirectories(dataDir);
    DurableFiles.write(file, (token + "\n").getBytes(StandardCharsets.US_ASCII));
    return token;
  }

  static SSLContext trusting(List<X509Certificate> roots) {
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < roots.size(); i++) {
        store.setCertificateEntry("root-" + i, roots.get(i));
      }
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(store);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, factory.getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot build a TLS context trusting the mesh roots", e);
    }
  }

  private static Map<String, List<String>> flags(List<String> args) {
    Map<String, List<String>> flags = new HashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String flag = args.get(i);
      if (flag.equals("-h") || flag.equals("--help")) {
        flags.put("--help", List.of());
        continue;
      }
      if (!flag.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument '" + flag + "'");
      }
      if (i + 1 >= args.size()) {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      flags.computeIfAbsent(flag, f -> new ArrayList<>()).add(args.get(++i));
    }
    return flags;
  }

  private static void allow(Map<String, List<String>> flags, String... known) {
    List<String> allowed = List.of(known);
    for (String flag : flags.keySet()) {
      if (!allowed.contains(flag)) {
        throw new IllegalArgumentException("unknown option " + flag);
      }
    }
  }

  private static String required(Map<String, List<String>> flags, String flag) {
    if (!flags.containsKey(flag)) {
      throw new IllegalArgumentException(flag + " is required");
    }
    return single(flags, flag, null);
  }

  private static String single(Map<String, List<String>> flags, String flag, String fallback) {
    List<String> values = flags.get(flag);
    if (values == null) {
      return fallback;
    }
    if (values.size() > 1) {
      throw new IllegalArgumentException(flag + " given " + values.size() + " times");
    }
    return values.get(0);
  }

  private static int port(String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("a port must be a number, got '" + value + "'");
    }
  }

  static Duration duration(String value) {
    Matcher m = DURATION.matcher(value);
    if (!m.matches()) {
      throw new IllegalArgumentException("a duration looks like 90s, 30m, 24h or 7d, got '" + value + "'");
    }
    long amount = Long.parseLong(m.group(1));
    return switch (m.group(2) == null ? "s" : m.group(2)) {
      case "m" -> Duration.ofMinutes(amount);
      case "h" -> Duration.ofHours(amount);
      case "d" -> Duration.ofDays(amount);
      default -> Duration.ofSeconds(amount);
    };
  }

  private static String jsonSafe(String value) {
    if (!value.matches("[A-Za-z0-9._-]+")) {
      throw new IllegalArgumentException("'" + value + "' is not a valid namespace or service account name");
    }
    return value;
  }

  private static int usage(PrintStream err, String message) {
    err.println("mesh-ca-server: " + message);
    err.println(USAGE);
    return 2;
  }
}
