package dev.inmesh.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.util.JsonFormat;
import dev.inmesh.ca.internal.Pem;
import dev.inmesh.ca.proto.IstioCertificateRequest;
import dev.inmesh.ca.proto.IstioCertificateResponse;
import dev.inmesh.ca.proto.IstioCertificateServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.stub.MetadataUtils;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CA's two APIs over real loopback sockets, with real TLS clients: grpc-java, the JDK's HttpClient and curl. */
class CaServerIT {
  private static final String WEB = "spiffe://cluster.local/ns/shop/sa/web";
  private static final String ADMIN_TOKEN = "admin-token-for-tests-0123456789";

  @TempDir
  Path dataDir;

  private CertificateAuthority ca;
  private CaServer server;
  private final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    ca = CertificateAuthority.builder(CaConfig.of("cluster.local", dataDir)).build();
    server = CaServer.start(ca, CaServerOptions.defaults().withPorts(0, 0).withAdminToken(ADMIN_TOKEN));
  }

  @AfterEach
  void stop() throws InterruptedException {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    server.close();
  }

  private IstioCertificateServiceGrpc.IstioCertificateServiceBlockingStub grpc(KeyPair keys, List<X509Certificate> chain)
      throws Exception {
    SslContextBuilder tls = GrpcSslContexts.forClient().trustManager(ca.rootCertificate());
    if (keys != null) {
      tls.keyManager(keys.getPrivate(), chain.toArray(X509Certificate[]::new));
    }
    ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", server.grpcPort()).sslContext(tls.build()).build();
    channels.add(channel);
    return IstioCertificateServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private static IstioCertificateServiceGrpc.IstioCertificateServiceBlockingStub withToken(
      IstioCertificateServiceGrpc.IstioCertificateServiceBlockingStub stub, String token) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  private String token(String namespace, String serviceAccount) {
    return ca.joinTokens().create(namespace, serviceAccount, Duration.ofMinutes(5)).value();
  }

  private static IstioCertificateRequest request(String csr, long seconds) {
    return IstioCertificateRequest.newBuilder().setCsr(csr).setValidityDuration(seconds).build();
  }

  private static List<X509Certificate> certificates(List<String> pems) {
    return Pem.decodeCertificates(String.join("", pems));
  }

  @Test
  void grpcCreateCertificateWithAJoinTokenReturnsLeafIntermediateAndRoot() throws Exception {
    KeyPair keys = Csrs.p256();

    IstioCertificateResponse response =
        withToken(grpc(null, null), token("shop", "web")).createCertificate(request(Csrs.forIdentity(keys, WEB), 3600));

    List<X509Certificate> chain = certificates(response.getCertChainList());
    assertThat(chain).hasSize(3);
    assertThat(chain.get(0).getSubjectAlternativeNames()).containsExactly(List.of(6, WEB));
    assertThat(chain.get(0).getPublicKey()).isEqualTo(keys.getPublic());
    assertThat(chain.get(2)).isEqualTo(ca.rootCertificate());
    assertThat(Duration.between(chain.get(0).getNotBefore().toInstant(), chain.get(0).getNotAfter().toInstant()))
        .isEqualTo(Duration.ofMinutes(61));
    ca.trustBundle().verify(chain, java.time.Instant.now());
  }

  @Test
  void grpcRenewsOverMutualTlsWithAStillValidCertificateOfTheSameIdentity() throws Exception {
    KeyPair first = Csrs.p256();
    List<X509Certificate> current = certificates(withToken(grpc(null, null), token("shop", "web"))
        .createCertificate(request(Csrs.forIdentity(first, WEB), 0)).getCertChainList());

    KeyPair next = Csrs.ec("secp384r1");
    IstioCertificateResponse renewed = grpc(first, current).createCertificate(request(Csrs.forIdentity(next, WEB), 0));

    X509Certificate leaf = certificates(renewed.getCertChainList()).get(0);
    assertThat(leaf.getPublicKey()).isEqualTo(next.getPublic());
    assertThat(leaf.getSerialNumber()).isNotEqualTo(current.get(0).getSerialNumber());
  }

  @Test
  void grpcRefusesACsrForAnotherIdentityWithPermissionDenied() throws Exception {
    KeyPair web = Csrs.p256();
    List<X509Certificate> webChain = certificates(withToken(grpc(null, null), token("shop", "web"))
        .createCertificate(request(Csrs.forIdentity(web, WEB), 0)).getCertChainList());
    String dbCsr = Csrs.forIdentity(Csrs.p256(), "spiffe://cluster.local/ns/shop/sa/db");

    assertThatThrownBy(() -> grpc(web, webChain).createCertificate(request(dbCsr, 0)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
          assertThat(e.getStatus().getDescription()).contains("IDENTITY_MISMATCH").contains("sa/db");
        });
    assertThatThrownBy(() -> withToken(grpc(null, null), token("shop", "web")).createCertificate(request(dbCsr, 0)))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
  }

  @Test
  void grpcRefusesARequestWithoutCredentialOrWithABadToken() throws Exception {
    String csr = Csrs.forIdentity(Csrs.p256(), WEB);

    assertThatThrownBy(() -> grpc(null, null).createCertificate(request(csr, 0)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
          assertThat(e.getStatus().getDescription()).contains("Bearer");
        });
    assertThatThrownBy(() -> withToken(grpc(null, null), "inmesh-jt-nope").createCertificate(request(csr, 0)))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
    assertThatThrownBy(() -> withToken(grpc(null, null), token("shop", "web")).createCertificate(request(csr, 90_000)))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
  }

  private HttpClient https(SSLContext context) {
    return HttpClient.newBuilder().sslContext(context).connectTimeout(Duration.ofSeconds(5)).build();
  }

  private HttpResponse<String> postJson(HttpClient client, String path, String authorization, String body)
      throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("https://localhost:" + server.httpsPort() + path))
        .header("Content-Type", "application/json")
        .timeout(Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String csrJson(String csr, long seconds) {
    return "{\"csr\": " + jsonString(csr) + ", \"validityDuration\": " + seconds + "}";
  }

  private static String jsonString(String text) {
    return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }

  private static List<X509Certificate> chainOf(String json) throws Exception {
    IstioCertificateResponse.Builder response = IstioCertificateResponse.newBuilder();
    JsonFormat.parser().merge(json, response);
    return certificates(response.getCertChainList());
  }

  @Test
  void httpsJsonCallWithATokenReturnsTheChainAndRefusalsAreJsonWithStatusCodes() throws Exception {
    HttpClient client = https(Main.trusting(List.of(ca.rootCertificate())));

    HttpResponse<String> issued = postJson(client, "/v1/certificate", "Bearer " + token("shop", "web"),
        csrJson(Csrs.forIdentity(Csrs.p256(), WEB), 3600));
    HttpResponse<String> otherIdentity = postJson(client, "/v1/certificate", "Bearer " + token("shop", "web"),
        csrJson(Csrs.forIdentity(Csrs.p256(), "spiffe://cluster.local/ns/shop/sa/db"), 3600));
    HttpResponse<String> badToken = postJson(client, "/v1/certificate", "Bearer inmesh-jt-nope",
        csrJson(Csrs.forIdentity(Csrs.p256(), WEB), 3600));
    HttpResponse<String> tooLong = postJson(client, "/v1/certificate", "Bearer " + token("shop", "web"),
        csrJson(Csrs.forIdentity(Csrs.p256(), WEB), 90_000));
    HttpResponse<String> notJson = postJson(client, "/v1/certificate", "Bearer " + token("shop", "web"), "csr=1");

    assertThat(issued.statusCode()).as(issued.body()).isEqualTo(200);
    assertThat(issued.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(chainOf(issued.body())).hasSize(3);
    assertThat(otherIdentity.statusCode()).isEqualTo(403);
    assertThat(otherIdentity.body()).contains("\"reason\": \"IDENTITY_MISMATCH\"").contains("\"message\": ");
    assertThat(badToken.statusCode()).isEqualTo(401);
    assertThat(badToken.body()).contains("BAD_TOKEN");
    assertThat(tooLong.statusCode()).isEqualTo(400);
    assertThat(tooLong.body()).contains("BAD_TTL");
    assertThat(notJson.statusCode()).isEqualTo(400);
  }

  @Test
  void httpsRenewsWithTheClientCertificateOfTheSameIdentity() throws Exception {
    KeyPair keys = Csrs.p256();
    List<X509Certificate> chain = ca.sign(Csrs.forIdentity(keys, WEB), Duration.ZERO,
        new Credential.Token(token("shop", "web"))).chain();
    KeyStore identity = KeyStore.getInstance("PKCS12");
    identity.load(null, null);
    identity.setKeyEntry("svid", keys.getPrivate(), new char[0], chain.toArray(X509Certificate[]::new));
    KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(identity, new char[0]);
    SSLContext mutual = SSLContext.getInstance("TLS");
    KeyStore roots = KeyStore.getInstance("PKCS12");
    roots.load(null, null);
    roots.setCertificateEntry("root", ca.rootCertificate());
    javax.net.ssl.TrustManagerFactory trust =
        javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    trust.init(roots);
    mutual.init(keyManagers.getKeyManagers(), trust.getTrustManagers(), null);

    HttpResponse<String> renewed =
        postJson(https(mutual), "/v1/certificate", null, csrJson(Csrs.forIdentity(Csrs.p256(), WEB), 600));

    assertThat(renewed.statusCode()).as(renewed.body()).isEqualTo(200);
    assertThat(chainOf(renewed.body()).get(0).getSubjectAlternativeNames()).containsExactly(List.of(6, WEB));
  }

  @Test
  void theAdminEndpointCreatesJoinTokensOnlyForTheAdmin() throws Exception {
    HttpClient client = https(Main.trusting(List.of(ca.rootCertificate())));
    String body = "{\"namespace\": \"shop\", \"serviceAccount\": \"web\", \"ttlSeconds\": 600}";

    HttpResponse<String> created = postJson(client, "/v1/join-tokens", "Bearer " + ADMIN_TOKEN, body);
    HttpResponse<String> stranger = postJson(client, "/v1/join-tokens", "Bearer not-the-admin-token", body);

    assertThat(created.statusCode()).as(created.body()).isEqualTo(200);
    assertThat(created.body()).contains("\"identity\": \"" + WEB + "\"");
    String token = created.body().replaceAll("(?s).*\"token\": \"([^\"]+)\".*", "$1");
    HttpResponse<String> issued = postJson(client, "/v1/certificate", "Bearer " + token,
        csrJson(Csrs.forIdentity(Csrs.p256(), WEB), 0));
    assertThat(issued.statusCode()).as(issued.body()).isEqualTo(200);
    assertThat(stranger.statusCode()).isEqualTo(401);
    assertThat(stranger.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
  }

  @Test
  void curlGetsACertificateWithATokenAndRenewsWithItsCertificate(@TempDir Path work) throws Exception {
    Assumptions.assumeTrue(onPath("curl"), "curl is not installed");
    Path rootPem = work.resolve("root.pem");
    Files.writeString(rootPem, Pem.encode(ca.rootCertificate()));
    KeyPair keys = Csrs.p256();
    Path body = work.resolve("body.json");
    Files.writeString(body, csrJson(Csrs.forIdentity(keys, WEB), 3600));

    CurlResult issued = curl(work, "--cacert", rootPem.toString(), "-H", "Authorization: Bearer " + token("shop", "web"),
        "-H", "Content-Type: application/json", "--data-binary", "@" + body,
        "https://localhost:" + server.httpsPort() + "/v1/certificate");

    assertThat(issued.status()).as(issued.body()).isEqualTo(200);
    List<X509Certificate> chain = chainOf(issued.body());
    Path certFile = work.resolve("cert-chain.pem");
    Files.writeString(certFile, String.join("", chain.stream().limit(2).map(Pem::encode).toList()));
    Path keyFile = work.resolve("key.pem");
    Files.writeString(keyFile, Pem.encode(keys.getPrivate()));
    Files.writeString(body, csrJson(Csrs.forIdentity(Csrs.p256(), WEB), 0));

    CurlResult renewed = curl(work, "--cacert", rootPem.toString(), "--cert", certFile.toString(), "--key",
        keyFile.toString(), "-H", "Content-Type: application/json", "--data-binary", "@" + body,
        "https://localhost:" + server.httpsPort() + "/v1/certificate");
    CurlResult anonymous = curl(work, "--cacert", rootPem.toString(), "-H", "Content-Type: application/json",
        "--data-binary", "@" + body, "https://localhost:" + server.httpsPort() + "/v1/certificate");

    assertThat(renewed.status()).as(renewed.body()).isEqualTo(200);
    assertThat(chainOf(renewed.body())).hasSize(3);
    assertThat(anonymous.status()).isEqualTo(401);
    assertThat(anonymous.body()).contains("NO_CREDENTIAL");
  }

  private record CurlResult(int status, String body) {}

  private static CurlResult curl(Path work, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}"));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
    int newline = output.lastIndexOf('\n');
    assertThat(newline).as(output).isGreaterThanOrEqualTo(0);
    return new CurlResult(Integer.parseInt(output.substring(newline + 1).trim()), output.substring(0, newline));
  }

  static boolean onPath(String program) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      if (Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }
}
