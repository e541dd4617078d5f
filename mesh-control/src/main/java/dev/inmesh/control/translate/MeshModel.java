package dev.inmesh.control.translate;

import dev.inmesh.control.config.security.PeerAuthentication;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The mesh as the translator sees it — its services, their endpoints and the mutual-TLS mode each
 * endpoint accepts — for tools that reason about the config without translating it (meshctl
 * analyze). It uses the translator's own service index and host rules, so the two cannot differ.
 */
public final class MeshModel {
  private final ServiceIndex index;
  private final PeerAuthentications peerAuthentications;

  private MeshModel(ServiceIndex index, PeerAuthentications peerAuthentications) {
    this.index = index;
    this.peerAuthentications = peerAuthentications;
  }

  /** A service: its host name, namespace, ports and endpoints. */
  public record Service(String hostname, String namespace, List<Integer> ports, List<Instance> instances) {
    public Service {
      ports = List.copyOf(ports);
      instances = List.copyOf(instances);
    }
  }

  /** One endpoint of one service port: the workload's namespace and labels, and its ports. */
  public record Instance(String namespace, Map<String, String> labels, int servicePort, int targetPort) {
    public Instance {
      labels = Map.copyOf(labels);
    }
  }

  public static MeshModel of(MeshState state, HostResolver resolver) {
    return new MeshModel(ServiceIndex.build(state, resolver, (resource, message) -> { }), PeerAuthentications.of(state));
  }

  public List<Service> services() {
    List<Service> services = new ArrayList<>();
    for (MeshService service : index.services()) {
      services.add(new Service(service.hostname(), service.namespace(),
          service.ports().stream().map(MeshService.Port::number).toList(),
          service.instances().stream()
              .map(i -> new Instance(i.namespace(), i.labels(), i.servicePort(), i.port()))
              .toList()));
    }
    return services;
  }

  public Optional<Service> service(String hostname) {
    return services().stream().filter(s -> s.hostname().equals(hostname)).findFirst();
  }

  /** The services a VirtualService or DestinationRule host names, written in {@code namespace}. */
  public List<Service> servicesFor(String host, String namespace) {
    String resolved = resolve(host, namespace);
    return services().stream()
        .filter(s -> s.hostname().equals(resolved) || Hosts.wildcardMatches(resolved, s.hostname()))
        .toList();
  }

  /** Istio's rule: a short name is a service in the resource's own namespace. */
  public static String resolve(String host, String namespace) {
    return Hosts.resolve(host, namespace);
  }

  /** Whether a host as written in config (resolved, maybe a wildcard) covers a service's host name. */
  public static boolean covers(String resolvedHost, String hostname) {
    return resolvedHost.equals(hostname) || Hosts.wildcardMatches(resolvedHost, hostname);
  }

  /** Istio's cluster name, {@code outbound|<port>|<subset>|<fqdn>}. */
  public static String clusterName(int port, String subset, String hostname) {
    return ClusterNames.outbound(port, subset, hostname);
  }

  /** The route configuration of a service port, {@code <fqdn>:<port>}. */
  public static String routeName(String hostname, int port) {
    return ClusterNames.hostPort(hostname, port);
  }

  /** Whether a label selector picks a workload with {@code labels}: every selector label, equal. */
  public static boolean selects(Map<String, String> selector, Map<String, String> labels) {
    return ServiceIndex.matches(selector, labels);
  }

  public static boolean isWildcard(String host) {
    return host.startsWith("*");
  }

  /** The mutual-TLS mode the endpoint accepts, as PeerAuthentication resolves it; never UNSET. */
  public PeerAuthentication.Mode mtlsMode(Instance instance) {
    return peerAuthentications.mode(instance.namespace(), instance.labels(), instance.targetPort());
  }
}
