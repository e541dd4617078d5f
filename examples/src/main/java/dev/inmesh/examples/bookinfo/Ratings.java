package dev.inmesh.examples.bookinfo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.sun.net.httpserver.HttpExchange;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Bookinfo's ratings, as Istio's serves it: {@code GET /ratings/<id>} on port 9080 answers
 * {@code {"id": 0, "ratings": {"Reviewer1": 5, "Reviewer2": 4}}}; reviews v2 and v3 call it so.
 *
 * <p>The same ratings are also a gRPC service on port {@value #GRPC_PORT}, served by proxyless
 * gRPC: {@code bookinfo.Ratings/GetRatings} takes {@code {"productId": 0}} and answers the same
 * body. No Istio task depends on it; it keeps a grpc-java xDS server and client in the demo
 * ({@code bin/demo check} calls it). Messages are {@code google.protobuf.Struct}, so the example
 * needs no generated code.
 */
final class Ratings {
  static final int GRPC_PORT = 9090;
  static final String SERVICE = "bookinfo.Ratings";
  static final MethodDescriptor<Struct, Struct> GET_RATINGS = MethodDescriptor.<Struct, Struct>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "GetRatings"))
      .setRequestMarshaller(ProtoUtils.marshaller(Struct.getDefaultInstance()))
      .setResponseMarshaller(ProtoUtils.marshaller(Struct.getDefaultInstance()))
      .build();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, Integer> STARS = stars();

  private Ratings() {}

  /** {@code GET /ratings/<id>}, as Istio's ratings answers it. */
  static void handle(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    if (!path.startsWith("/ratings/")) {
      Http.send(exchange, 404, "text/plain", "not found");
      return;
    }
    if (!exchange.getRequestMethod().equals("GET")) {
      Http.send(exchange, 405, "text/plain", "method not allowed");
      return;
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("id", Http.id(path));
    body.put("ratings", STARS);
    Http.send(exchange, 200, "application/json", JSON.writeValueAsString(body));
  }

  static ServerServiceDefinition service() {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(GET_RATINGS, ServerCalls.asyncUnaryCall((request, response) -> {
          double productId = request.getFieldsOrDefault("productId", Value.getDefaultInstance()).getNumberValue();
          Struct.Builder ratings = Struct.newBuilder();
          STARS.forEach((reviewer, stars) -> ratings.putFields(reviewer, number(stars)));
          response.onNext(Struct.newBuilder()
              .putFields("id", number(productId))
              .putFields("ratings", Value.newBuilder().setStructValue(ratings).build())
              .build());
          response.onCompleted();
        }))
        .build();
  }

  static Struct request(int productId) {
    return Struct.newBuilder().putFields("productId", number(productId)).build();
  }

  private static Map<String, Integer> stars() {
    Map<String, Integer> stars = new LinkedHashMap<>();
    stars.put("Reviewer1", 5);
    stars.put("Reviewer2", 4);
    return java.util.Collections.unmodifiableMap(stars);
  }

  private static Value number(double value) {
    return Value.newBuilder().setNumberValue(value).build();
  }
}
