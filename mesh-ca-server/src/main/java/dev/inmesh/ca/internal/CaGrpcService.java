package dev.inmesh.ca.internal;

import dev.inmesh.ca.CaException;
import dev.inmesh.ca.CertificateAuthority;
import dev.inmesh.ca.Credential;
import dev.inmesh.ca.IssuedCertificate;
import dev.inmesh.ca.proto.IstioCertificateRequest;
import dev.inmesh.ca.proto.IstioCertificateResponse;
import dev.inmesh.ca.proto.IstioCertificateServiceGrpc;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;

/** {@code istio.v1.auth.IstioCertificateService/CreateCertificate} over the CA. */
public final class CaGrpcService extends IstioCertificateServiceGrpc.IstioCertificateServiceImplBase {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final Context.Key<Credential> CREDENTIAL = Context.key("inmesh-ca-credential");
  private static final Context.Key<CaException> CREDENTIAL_ERROR = Context.key("inmesh-ca-credential-error");

  private final CertificateAuthority ca;

  private CaGrpcService(CertificateAuthority ca) {
    this.ca = ca;
  }

  /** The service with the interceptor that reads the token and the TLS client certificate. */
  public static ServerServiceDefinition definition(CertificateAuthority ca) {
    return ServerInterceptors.intercept(new CaGrpcService(ca), new CredentialInterceptor());
  }

  @Override
  public void createCertificate(IstioCertificateRequest request, StreamObserver<IstioCertificateResponse> response) {
    try {
      if (CREDENTIAL_ERROR.get() != null) {
        throw CREDENTIAL_ERROR.get();
      }
      IssuedCertificate issued =
          ca.sign(request.getCsr(), Duration.ofSeconds(request.getValidityDuration()), CREDENTIAL.get());
      response.onNext(IstioCertificateResponse.newBuilder().addAllCertChain(issued.pemChain()).build());
      response.onCompleted();
    } catch (CaException e) {
      response.onError(Status.fromCode(Status.Code.valueOf(e.reason().kind().grpcCode()))
          .withDescription(e.reason() + ": " + e.getMessage())
          .asRuntimeException());
    }
  }

  private static final class CredentialInterceptor implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      Context context = Context.current();
      try {
        context = context.withValue(CREDENTIAL,
            RequestCredentials.of(headers.get(AUTHORIZATION), call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION)));
      } catch (CaException e) {
        context = context.withValue(CREDENTIAL_ERROR, e);
      }
      return Contexts.interceptCall(context, call, headers, next);
    }
  }
}
