package dev.inmesh.control.translate;

import dev.inmesh.Locality;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A service as the translator sees it, whatever declared it: registered workloads (Kubernetes-like
 * names, {@code reviews.default.svc.cluster.local}) or a ServiceEntry (its hosts as written).
 * {@code subjectAltNames} are a ServiceEntry's own, for its endpoints' mesh mTLS identities.
 *
 * @param meshExternal a ServiceEntry with {@code location: MESH_EXTERNAL} (its default): outside the
 *     mesh, so never auto-mTLS, whatever its endpoints' labels say, as in Istio
 */
record MeshService(String hostname, String namespace, Optional<String> shortName, List<Port> ports,
    List<Instance> instances, List<String> exportTo, boolean passthrough, List<String> subjectAltNames,
    boolean meshExternal) {

  static final String DOMAIN_SUFFIX = ".svc.cluster.local";

  MeshService {
    ports = List.copyOf(ports);
    instances = List.copyOf(instances);
    exportTo = List.copyOf(exportTo);
    subjectAltNames = List.copyOf(subjectAltNames);
  }

  /** A service inside the mesh: registered workloads, or a MESH_INTERNAL ServiceEntry's host. */
  MeshService(String hostname, String namespace, Optional<String> shortName, List<Port> ports,
      List<Instance> instances, List<String> exportTo, boolean passthrough, List<String> subjectAltNames) {
    this(hostname, namespace, shortName, ports, instances, exportTo, passthrough, subjectAltNames, false);
  }

  /** Its name as Istio's cluster metadata gives it: the short name, or a ServiceEntry's host. */
  String serviceName() {
    return shortName.orElse(hostname);
  }

  record Port(int number, String name, String protocol) {}

  /**
   * One endpoint of one service port: where to connect, what the subsets select on, and whose
   * identity ({@code namespace} and {@code serviceAccount}) it presents under mutual TLS.
   */
  record Instance(String address, int servicePort, int port, Map<String, String> labels, Locality locality,
      int weight, String namespace, String serviceAccount) {
    /** Istio's label for a workload that can terminate mesh mutual TLS. */
    static final String TLS_MODE_LABEL = "security.istio.io/tlsMode";

    Instance {
      labels = Map.copyOf(labels);
      serviceAccount = serviceAccount == null || serviceAccount.isEmpty() ? "default" : serviceAccount;
    }

    /** Whether the endpoint says it speaks mesh mutual TLS ({@code security.istio.io/tlsMode: istio}). */
    boolean meshTls() {
      return "istio".equals(labels.get(TLS_MODE_LABEL));
    }
  }

  /**
   * The SPIFFE IDs a client accepts from this service under mesh mTLS, as Istio sets a cluster's
   * SAN list: the service accounts of all the service's instances, on every port and in every
   * subset, plus the ServiceEntry's {@code subjectAltNames}. Empty while nothing serves it.
   */
  java.util.SortedSet<String> identities(String trustDomain) {
    java.util.SortedSet<String> identities = new java.util.TreeSet<>(subjectAltNames);
    instances.forEach(i -> identities.add("spiffe://" + trustDomain + "/ns/" + i.namespace() + "/sa/" + i.serviceAccount()));
    return identities;
  }

  Optional<Port> port(int number) {
    return ports.stream().filter(p -> p.number() == number).findFirst();
  }

  /** Visible from {@code namespace} under Istio's exportTo rules ("*", ".", "~" or names). */
  boolean visibleFrom(String clientNamespace) {
    return isExported(exportTo, namespace, clientNamespace);
  }

  static boolean isExported(List<String> exportTo, String ownNamespace, String clientNamespace) {
    if (exportTo.isEmpty() || exportTo.contains("*")) {
      return true;
    }
    if (exportTo.contains("~")) {
      return false;
    }
    return (exportTo.contains(".") && ownNamespace.equals(clientNamespace)) || exportTo.contains(clientNamespace);
  }

  /**
   * The names a client in {@code clientNamespace} may dial this service by, without a port:
   * short names only work in the service's own namespace, as in Kubernetes DNS.
   */
  List<String> aliases(String clientNamespace) {
    if (shortName.isEmpty()) {
      return List.of(hostname);
    }
    String name = shortName.get();
    if (clientNamespace.equals(namespace)) {
      return List.of(hostname, name, name + "." + namespace, name + "." + namespace + ".svc");
    }
    return List.of(hostname, name + "." + namespace, name + "." + namespace + ".svc");
  }
}
