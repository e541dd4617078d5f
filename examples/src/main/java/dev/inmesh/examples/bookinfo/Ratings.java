package dev.inmesh.examples.bookinfo;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;

/**
 * Bookinfo's ratings, as a gRPC service: {@code bookinfo.Ratings/GetRatings} takes
 * {@code {"productId": 0}} and answers each reviewer's stars. Messages are
 * {@code google.protobuf.Struct}, so the example needs no generated code.
 */
final class Ratings {
  static final String SERVICE = "bookinfo.Ratings";
  static final MethodDescriptor<Struct, Struct> GET_RATINGS = MethodDescriptor.<Struct, Struct>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "GetRatings"))
      .setRequestMarshaller(ProtoUtils.marshaller(Struct.getDefaultInstance()))
      .setResponseMarshaller(ProtoUtils.marshaller(Struct.getDefaultInstance()))
      .build();

  private Ratings() {}

  static ServerServiceDefinition service() {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(GET_RATINGS, ServerCalls.asyncUnaryCall((request, response) -> {
          double productId = request.getFieldsOrDefault("productId", Value.getDefaultInstance()).getNumberValue();
          response.onNext(Struct.newBuilder()
              .putFields("id", number(productId))
              .putFields("ratings", Value.newBuilder().setStructValue(Struct.newBuilder()
                  .putFields("Reviewer1", number(5))
                  .putFields("Reviewer2", number(4))).build())
              .build());
          response.onCompleted();
        }))
        .build();
  }

  static Struct request(int productId) {
    return Struct.newBuilder().putFields("productId", number(productId)).build();
  }

  private static Value number(double value) {
    return Value.newBuilder().setNumberValue(value).build();
  }
}
