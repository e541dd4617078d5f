package dev.inmesh.testing;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A tiny gRPC service for tests and demos: {@code inmesh.testing.Greeter/SayHello} takes a name
 * and answers with the version of the backend that served it. Messages are UTF-8 strings, so no
 * protoc step is needed; grpc-xds routes it like any other service.
 */
public final class Greeter {
  public static final String SERVICE = "inmesh.testing.Greeter";
  public static final MethodDescriptor<String, String> SAY_HELLO = MethodDescriptor.<String, String>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "SayHello"))
      .setRequestMarshaller(Utf8Marshaller.INSTANCE)
      .setResponseMarshaller(Utf8Marshaller.INSTANCE)
      .build();

  private Greeter() {}

  /** The service definition: answers {@code "<version>: hello <name>"} after {@code delay}. */
  public static ServerServiceDefinition service(String version, Duration delay) {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(SAY_HELLO, ServerCalls.asyncUnaryCall((name, response) -> {
          if (!delay.isZero()) {
            try {
              Thread.sleep(delay.toMillis());
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          response.onNext(version + ": hello " + name);
          response.onCompleted();
        }))
        .build();
  }

  /** One blocking call with the given request headers and deadline. */
  public static String sayHello(Channel channel, String name, Map<String, String> headers, Duration deadline) {
    Metadata metadata = new Metadata();
    headers.forEach((key, value) -> metadata.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), value));
    CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
    return ClientCalls.blockingUnaryCall(
        io.grpc.ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(metadata)),
        SAY_HELLO, options, name);
  }

  /** The version prefix of an answer: "v1" from "v1: hello x". */
  public static String versionOf(String answer) {
    int colon = answer.indexOf(':');
    return colon < 0 ? answer : answer.substring(0, colon);
  }

  private enum Utf8Marshaller implements MethodDescriptor.Marshaller<String> {
    INSTANCE;

    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
