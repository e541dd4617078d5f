package dev.inmesh.internal.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.inmesh.Locality;
import dev.inmesh.internal.model.ServicePort;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WorkloadMetadataTest {
  private static final WorkloadMetadata REVIEWS = new WorkloadMetadata(
      "reviews",
      "shop",
      "reviews-sa",
      "reviews-v2-1",
      Map.of("app", "reviews", "version", "v2"),
      "10.0.0.5",
      List.of(new ServicePort("grpc", 9080, 19080, "GRPC"), new ServicePort("http", 8080, 8080, "HTTP")),
      new Locality("us-east1", "us-east1-b", "rack7"));

  private static Value string(String value) {
    return Value.newBuilder().setStringValue(value).build();
  }

  private static Value number(double value) {
    return Value.newBuilder().setNumberValue(value).build();
  }

  private static Value ports(Struct... ports) {
    ListValue.Builder list = ListValue.newBuilder();
    for (Struct port : ports) {
      list.addValues(Value.newBuilder().setStructValue(port));
    }
    return Value.newBuilder().setListValue(list).build();
  }

  private static Node node(Struct metadata) {
    return Node.newBuilder().setId("node-7").setMetadata(metadata).build();
  }

  private static Struct.Builder serving() {
    return Struct.newBuilder()
        .putFields(WorkloadMetadata.SERVICE, string("ratings"))
        .putFields(WorkloadMetadata.INSTANCE_IPS, string("10.0.0.9"))
        .putFields(WorkloadMetadata.PORTS, ports(Struct.newBuilder()
            .putFields("name", string("grpc")).putFields("port", number(9090)).build()));
  }

  @Test
  void aNodeReadsBackAsTheMetadataItWasWrittenFrom() {
    Node node = REVIEWS.toNode("reviews-v2-1.shop");

    assertThat(WorkloadMetadata.fromNode(node)).contains(REVIEWS);
    assertThat(node.getId()).isEqualTo("reviews-v2-1.shop");
    assertThat(node.getLocality().getRegion()).isEqualTo("us-east1");
    assertThat(node.getLocality().getZone()).isEqualTo("us-east1-b");
    assertThat(node.getLocality().getSubZone()).isEqualTo("rack7");
    assertThat(node.getMetadata().getFieldsOrThrow(WorkloadMetadata.NAMESPACE).getStringValue()).isEqualTo("shop");
  }

  @Test
  void keepsEachPortsTargetPort() {
    WorkloadMetadata read = WorkloadMetadata.fromNode(REVIEWS.toNode("n")).orElseThrow();

    assertThat(read.ports()).extracting(ServicePort::number, ServicePort::targetPort, ServicePort::name, ServicePort::protocol)
        .containsExactly(
            tuple(9080, 19080, "grpc", "GRPC"),
            tuple(8080, 8080, "http", "HTTP"));
  }

  @Test
  void aNodeWithoutAServiceIsAPureClient() {
    Node client = node(Struct.newBuilder()
        .putFields(WorkloadMetadata.NAMESPACE, string("shop"))
        .putFields(WorkloadMetadata.INSTANCE_IPS, string("10.0.0.3"))
        .build());

    assertThat(WorkloadMetadata.fromNode(client)).isEmpty();
    assertThat(WorkloadMetadata.fromNode(Node.getDefaultInstance())).isEmpty();
  }

  @Test
  void aServingNodeWithoutInstanceIpsIsRejectedNamingTheKey() {
    Node node = node(serving().removeFields(WorkloadMetadata.INSTANCE_IPS).build());

    assertThatThrownBy(() -> WorkloadMetadata.fromNode(node))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(WorkloadMetadata.INSTANCE_IPS)
        .hasMessageContaining("node-7");
  }

  @Test
  void aServingNodeWithoutPortsIsRejectedNamingTheKey() {
    Node node = node(serving().removeFields(WorkloadMetadata.PORTS).build());

    assertThatThrownBy(() -> WorkloadMetadata.fromNode(node))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(WorkloadMetadata.PORTS);
  }

  @Test
  void aServingNodeWithAnEmptyPortListIsRejectedNamingTheKey() {
    Node node = node(serving().putFields(WorkloadMetadata.PORTS, ports()).build());

    assertThatThrownBy(() -> WorkloadMetadata.fromNode(node))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(WorkloadMetadata.PORTS);
  }

  @Test
  void aPortWithoutANumberIsRejectedNamingTheEntry() {
    Node node = node(serving().putFields(WorkloadMetadata.PORTS,
        ports(Struct.newBuilder().putFields("name", string("grpc")).build())).build());

    assertThatThrownBy(() -> WorkloadMetadata.fromNode(node))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(WorkloadMetadata.PORTS + "[0]")
        .hasMessageContaining("'port'");
  }

  @Test
  void aPortOutOfRangeIsRejectedNamingTheEntry() {
    Node node = node(serving().putFields(WorkloadMetadata.PORTS, ports(
        Struct.newBuilder().putFields("name", string("grpc")).putFields("port", number(9090)).build(),
        Struct.newBuilder().putFields("name", string("http")).putFields("port", number(70000)).build())).build());

    assertThatThrownBy(() -> WorkloadMetadata.fromNode(node))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(WorkloadMetadata.PORTS + "[1]")
        .hasMessageContaining("70000");
  }

  @Test
  void fillsDefaultsForWhatAServingNodeLeavesOut() {
    WorkloadMetadata read = WorkloadMetadata.fromNode(node(serving().build())).orElseThrow();

    assertThat(read.service()).isEqualTo("ratings");
    assertThat(read.namespace()).isEqualTo(WorkloadMetadata.DEFAULT_NAMESPACE);
    assertThat(read.workloadName()).as("the node id").isEqualTo("node-7");
    assertThat(read.address()).isEqualTo("10.0.0.9");
    assertThat(read.ports()).containsExactly(new ServicePort("grpc", 9090, 9090, ""));
    assertThat(read.labels()).isEmpty();
    assertThat(read.locality()).isEqualTo(Locality.UNKNOWN);
  }

  @Test
  void readsThePortNumberWrittenAsAString() {
    Node node = node(serving().putFields(WorkloadMetadata.PORTS, ports(Struct.newBuilder()
        .putFields("name", string("grpc")).putFields("port", string("9091")).putFields("targetPort", string("19091"))
        .build())).build());

    assertThat(WorkloadMetadata.fromNode(node).orElseThrow().ports())
        .containsExactly(new ServicePort("grpc", 9091, 19091, ""));
  }

  @Test
  void usesTheFirstOfSeveralInstanceIps() {
    Node node = node(serving().putFields(WorkloadMetadata.INSTANCE_IPS, string("10.0.0.9,fd00::9")).build());

    assertThat(WorkloadMetadata.fromNode(node).orElseThrow().address()).isEqualTo("10.0.0.9");
  }

  @Test
  void namespaceOfDefaultsToDefault() {
    assertThat(WorkloadMetadata.namespaceOf(Node.getDefaultInstance())).isEqualTo("default");
    assertThat(WorkloadMetadata.namespaceOf(node(Struct.newBuilder()
        .putFields(WorkloadMetadata.NAMESPACE, string("")).build()))).isEqualTo("default");
    assertThat(WorkloadMetadata.namespaceOf(node(Struct.newBuilder()
        .putFields(WorkloadMetadata.NAMESPACE, string("shop")).build()))).isEqualTo("shop");
    assertThat(WorkloadMetadata.namespaceOf(REVIEWS.toNode("n"))).isEqualTo("shop");
  }

  @Test
  void aWorkloadMustDeclareAPort() {
    assertThatThrownBy(() -> new WorkloadMetadata("ratings", "shop", null, null, Map.of(), "10.0.0.9", List.of(), null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ratings");
  }
}
