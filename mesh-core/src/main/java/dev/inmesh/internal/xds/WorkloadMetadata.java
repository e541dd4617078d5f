package dev.inmesh.internal.xds;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import dev.inmesh.Locality;
import dev.inmesh.internal.model.ServicePort;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a workload says about itself in its ADS {@link Node}, so that mesh-control can register it.
 * Keys follow Istio's node metadata ({@code NAMESPACE}, {@code LABELS}, {@code INSTANCE_IPS},
 * {@code SERVICE_ACCOUNT}, {@code WORKLOAD_NAME}); Istio has no key for the service a workload
 * serves, so Inmesh adds {@code INMESH_SERVICE} and {@code INMESH_PORTS}, and {@code INMESH_OWNER}
 * on the nodes of a workload's other xDS clients. The locality travels in the node's own locality field.
 *
 * <p>A node without {@code INMESH_SERVICE} is a pure client (an unmodified grpc-xds channel, say)
 * and is not registered.
 */
public record WorkloadMetadata(
    String service,
    String namespace,
    String serviceAccount,
    String workloadName,
    Map<String, String> labels,
    String address,
    List<ServicePort> ports,
    Locality locality) {

  public static final String NAMESPACE = "NAMESPACE";
  public static final String LABELS = "LABELS";
  public static final String INSTANCE_IPS = "INSTANCE_IPS";
  public static final String SERVICE_ACCOUNT = "SERVICE_ACCOUNT";
  /** Set to {@code "true"} by a client that holds a mesh certificate and so can speak mutual TLS. */
  public static final String MTLS = "INMESH_MTLS";
  public static final String WORKLOAD_NAME = "WORKLOAD_NAME";
  public static final String SERVICE = "INMESH_SERVICE";
  public static final String PORTS = "INMESH_PORTS";
  /**
   * On a node that does not register (a grpc-xds channel inside a workload), the id of the node
   * that does, the process's own Mesh: its load reports are that workload's traffic.
   */
  public static final String OWNER = "INMESH_OWNER";
  /**
   * Set to {@code "true"} by a gateway (mesh-gateway): mesh-control matches its {@link #LABELS}
   * against Gateways' selectors, as Istio matches a gateway pod's labels.
   */
  public static final String GATEWAY = "INMESH_GATEWAY";

  public static final String DEFAULT_NAMESPACE = "default";

  public WorkloadMetadata {
    Objects.requireNonNull(service, "service");
    namespace = namespace == null || namespace.isEmpty() ? DEFAULT_NAMESPACE : namespace;
    serviceAccount = Objects.requireNonNullElse(serviceAccount, "default");
    workloadName = Objects.requireNonNullElse(workloadName, service);
    labels = Map.copyOf(labels);
    Objects.requireNonNull(address, "address");
    ports = List.copyOf(ports);
    locality = Objects.requireNonNullElse(locality, Locality.UNKNOWN);
    if (ports.isEmpty()) {
      throw new IllegalArgumentException("workload " + service + " must declare at least one port");
    }
  }

  /** The namespace a node belongs to, registered or not: its {@code NAMESPACE} or "default". */
  public static String namespaceOf(Node node) {
    Value value = node.getMetadata().getFieldsMap().get(NAMESPACE);
    return value == null || value.getStringValue().isEmpty() ? DEFAULT_NAMESPACE : value.getStringValue();
  }

  /** The node whose workload this node's traffic belongs to: its {@link #OWNER}, else itself. */
  public static String ownerOf(Node node) {
    String owner = string(node.getMetadata().getFieldsMap(), OWNER);
    return owner.isEmpty() ? node.getId() : owner;
  }

  /**
   * Reads the metadata of a node that serves a service. Empty when the node is a pure client;
   * {@link IllegalArgumentException} naming the key when the node claims a service but describes
   * it wrongly.
   */
  public static Optional<WorkloadMetadata> fromNode(Node node) {
    Map<String, Value> fields = node.getMetadata().getFieldsMap();
    String service = string(fields, SERVICE);
    if (service.isEmpty()) {
      return Optional.empty();
    }
    String address = string(fields, INSTANCE_IPS);
    if (address.isEmpty()) {
      throw new IllegalArgumentException("node " + node.getId() + ": metadata " + INSTANCE_IPS + " is required with " + SERVICE);
    }
    int comma = address.indexOf(',');
    if (comma >= 0) {
      address = address.substring(0, comma);
    }
    Map<String, String> labels = new LinkedHashMap<>();
    Value labelValue = fields.get(LABELS);
    if (labelValue != null) {
      labelValue.getStructValue().getFieldsMap().forEach((k, v) -> labels.put(k, v.getStringValue()));
    }
    List<ServicePort> ports = new ArrayList<>();
    Value portsValue = fields.get(PORTS);
    if (portsValue == null || portsValue.getListValue().getValuesCount() == 0) {
      throw new IllegalArgumentException("node " + node.getId() + ": metadata " + PORTS + " must list at least one port");
    }
    int index = 0;
    for (Value port : portsValue.getListValue().getValuesList()) {
      Map<String, Value> p = port.getStructValue().getFieldsMap();
      String where = "node " + node.getId() + ": metadata " + PORTS + "[" + index++ + "]";
      try {
        int number = (int) number(p, "port");
        int target = p.containsKey("targetPort") ? (int) number(p, "targetPort") : number;
        ports.add(new ServicePort(string(p, "name"), number, target, string(p, "protocol")));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
      }
    }
    var loc = node.getLocality();
    return Optional.of(new WorkloadMetadata(
        service,
        string(fields, NAMESPACE),
        string(fields, SERVICE_ACCOUNT),
        string(fields, WORKLOAD_NAME).isEmpty() ? node.getId() : string(fields, WORKLOAD_NAME),
        labels,
        address,
        ports,
        new Locality(loc.getRegion(), loc.getZone(), loc.getSubZone())));
  }

  /** The ADS node that announces this workload. */
  public Node toNode(String nodeId) {
    Struct.Builder labelStruct = Struct.newBuilder();
    labels.forEach((k, v) -> labelStruct.putFields(k, str(v)));
    ListValue.Builder portList = ListValue.newBuilder();
    for (ServicePort port : ports) {
      portList.addValues(Value.newBuilder().setStructValue(Struct.newBuilder()
          .putFields("name", str(port.name()))
          .putFields("port", Value.newBuilder().setNumberValue(port.number()).build())
          .putFields("targetPort", Value.newBuilder().setNumberValue(port.targetPort()).build())
          .putFields("protocol", str(port.protocol()))));
    }
    Struct metadata = Struct.newBuilder()
        .putFields(SERVICE, str(service))
        .putFields(NAMESPACE, str(namespace))
        .putFields(SERVICE_ACCOUNT, str(serviceAccount))
        .putFields(WORKLOAD_NAME, str(workloadName))
        .putFields(INSTANCE_IPS, str(address))
        .putFields(LABELS, Value.newBuilder().setStructValue(labelStruct).build())
        .putFields(PORTS, Value.newBuilder().setListValue(portList).build())
        .build();
    return Node.newBuilder()
        .setId(nodeId)
        .setCluster(service)
        .setMetadata(metadata)
        .setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder()
            .setRegion(locality.region())
            .setZone(locality.zone())
            .setSubZone(locality.subZone()))
        .setUserAgentName("inmesh")
        .build();
  }

  /**
   * {@link #toNode} as the xDS JSON mapping prints it, on one line: the form stores keep a
   * registration in, so that what they hold reads as the node the workload sent.
   */
  public String toNodeJson(String nodeId) {
    try {
      return JsonFormat.printer().omittingInsignificantWhitespace().print(toNode(nodeId));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a node always prints as JSON", e);
    }
  }

  /**
   * Reads {@link #toNodeJson}'s form (unknown fields ignored), as {@link #fromNode} reads a node.
   *
   * @throws IllegalArgumentException when {@code json} is no node, or the node describes its service wrongly
   */
  public static Optional<WorkloadMetadata> fromNodeJson(String json) {
    Node.Builder node = Node.newBuilder();
    try {
      JsonFormat.parser().ignoringUnknownFields().merge(json, node);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("not an xDS node: " + e.getMessage(), e);
    }
    return fromNode(node.build());
  }

  private static Value str(String value) {
    return Value.newBuilder().setStringValue(value).build();
  }

  private static String string(Map<String, Value> fields, String key) {
    Value value = fields.get(key);
    return value == null ? "" : value.getStringValue();
  }

  private static double number(Map<String, Value> fields, String key) {
    Value value = fields.get(key);
    if (value == null) {
      throw new IllegalArgumentException("'" + key + "' is required");
    }
    if (value.hasStringValue()) {
      try {
        return Integer.parseInt(value.getStringValue());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + key + "' must be a number, got '" + value.getStringValue() + "'", e);
      }
    }
    return value.getNumberValue();
  }
}
