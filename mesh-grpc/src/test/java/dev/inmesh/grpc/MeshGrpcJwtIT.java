package dev.inmesh.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.inmesh.Mesh;
import dev.inmesh.testing.Await;
import dev.inmesh.testing.Greeter;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * End-user JWTs on a gRPC server behind Inmesh's door: the token in the {@code authorization}
 * metadata, an invalid one ends the call UNAUTHENTICATED with Envoy's reason, a policy requiring a
 * principal ends a call without one PERMISSION_DENIED, and the service never sees the token.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MeshGrpcJwtIT {
  private static final String ISSUER = "https://issuer.inmesh.test";
  private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  GrpcMesh mesh;
  Mesh greeterMesh;
  Server server;
  int port;
  ManagedChannel plaintext;
  RSAKey key;
  final AtomicReference<String> seenAuthorization = new AtomicReference<>();

  @BeforeAll
  void start() throws Exception {
    key = new RSAKeyGenerator(2048).keyID("k").generate();
    mesh = new GrpcMesh();
    port = GrpcMesh.freePort();
    greeterMesh = mesh.withCertificate(Mesh.builder().controlServers(mesh.xds()).namespace("default")
        .meterRegistry(mesh.registry).service("greeter").serviceAccount("greeter").label("app", "greeter")
        .servePort("http2", 9000, port), "greeter").build();
    ServerServiceDefinition greeter = ServerServiceDefinition.builder(Greeter.SERVICE)
        .addMethod(Greeter.SAY_HELLO, ServerCalls.asyncUnaryCall((name, response) -> {
          response.onNext("hello " + name);
          response.onCompleted();
        }))
        .build();
    ServerInterceptor recordAuthorization = new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
          ServerCallHandler<Q, A> next) {
        seenAuthorization.set(Optional.ofNullable(headers.get(AUTHORIZATION)).orElse("-"));
        return next.startCall(call, headers);
      }
    };
    server = MeshGrpc.permissiveServer(greeterMesh, port, ServerInterceptors.intercept(greeter, recordAuthorization))
        .start();
    greeterMesh.awaitReady(GrpcMesh.WAIT);
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata: {name: jwt, namespace: default}
        spec:
          selector: {matchLabels: {app: greeter}}
          jwtRules:
          - issuer: "%s"
            jwks: '%s'
        """.formatted(ISSUER, new JWKSet(key.toPublicJWK()).toString(true)));
    Await.until(() -> greeterMesh.inbound(port).filter(p -> !p.authentication().isEmpty()).isPresent(), GrpcMesh.WAIT,
        "the greeter's JWT filter");
    plaintext = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }

  @AfterAll
  void stop() throws Exception {
    plaintext.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    greeterMesh.close();
    mesh.close();
  }

  private String token(Instant expiry) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k").build(),
        new JWTClaimsSet.Builder().issuer(ISSUER).subject("alice").expirationTime(Date.from(expiry)).build());
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }

  private String answer(Map<String, String> headers) {
    try {
      return Greeter.sayHello(plaintext, "x", headers, Duration.ofSeconds(5));
    } catch (io.grpc.StatusRuntimeException e) {
      return e.getStatus().getCode() + " " + e.getStatus().getDescription();
    }
  }

  @Test
  @Order(1)
  void aValidTokenPassesAndTheServiceDoesNotSeeIt() throws Exception {
    assertThat(answer(Map.of("authorization", "Bearer " + token(Instant.now().plusSeconds(600))))).isEqualTo("hello x");
    assertThat(seenAuthorization.get()).isEqualTo("-");
    assertThat(answer(Map.of())).as("no token").isEqualTo("hello x");
  }

  @Test
  @Order(2)
  void anInvalidTokenIsUnauthenticated() throws Exception {
    assertThat(answer(Map.of("authorization", "Bearer " + token(Instant.now().minusSeconds(600)))))
        .isEqualTo("UNAUTHENTICATED Jwt is expired");
  }

  @Test
  @Order(3)
  void aPolicyRequiringAPrincipalDeniesACallWithoutOne() throws Exception {
    mesh.apply("""
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: require-jwt, namespace: default}
        spec:
          selector: {matchLabels: {app: greeter}}
          rules:
          - from: [{source: {requestPrincipals: ["%s/alice"]}}]
        """.formatted(ISSUER));
    Await.until(() -> answer(Map.of()).startsWith("PERMISSION_DENIED"), GrpcMesh.WAIT, "the ALLOW policy in force");
    assertThat(answer(Map.of())).isEqualTo("PERMISSION_DENIED RBAC: access denied");
    assertThat(answer(Map.of("authorization", "Bearer " + token(Instant.now().plusSeconds(600))))).isEqualTo("hello x");
  }
}
