package dev.inmesh.control.translate;

import dev.inmesh.Locality;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.networking.ServiceEntry;
import dev.inmesh.control.config.networking.WorkloadEntry;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.xds.WorkloadMetadata;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.BiConsumer;

/** Builds the services of the mesh from registered workloads and ServiceEntries. */
final class ServiceIndex {
  private final Map<String, MeshService> byHostname = new TreeMap<>();

  private ServiceIndex() {}

  /**
   * @param warn receives (resource, message) for anything that could not be used
   */
  static ServiceIndex build(MeshState state, HostResolver resolver, BiConsumer<ConfigResource, String> warn) {
    ServiceIndex index = new ServiceIndex();
    index.addRegistered(state.workloads());
    List<ConfigResource> workloadEntries = state.ofKind(WorkloadEntry.class);
    for (ConfigResource resource : state.ofKind(ServiceEntry.class)) {
      index.addServiceEntry(resource, state.workloads(), workloadEntries, resolver, warn);
    }
    return index;
  }

  List<MeshService> services() {
    return List.copyOf(byHostname.values());
  }

  Optional<MeshService> find(String hostname) {
    return Optional.ofNullable(byHostname.get(hostname));
  }

  private void addRegistered(List<Workload> workloads) {
    Map<String, List<Workload>> byService = new TreeMap<>();
    for (Workload workload : workloads) {
      WorkloadMetadata meta = workload.metadata();
      byService.computeIfAbsent(meta.service() + "." + meta.namespace() + MeshService.DOMAIN_SUFFIX, k -> new ArrayList<>())
          .add(workload);
    }
    byService.forEach((hostname, members) -> {
      members.sort(Comparator.comparing(Workload::nodeId));
      WorkloadMetadata first = members.get(0).metadata();
      Map<Integer, MeshService.Port> ports = new TreeMap<>();
      List<MeshService.Instance> instances = new ArrayList<>();
      for (Workload workload : members) {
        WorkloadMetadata meta = workload.metadata();
        for (ServicePort port : meta.ports()) {
          ports.putIfAbsent(port.number(), new MeshService.Port(port.number(), port.name(), port.protocol()));
          instances.add(new MeshService.Instance(meta.address(), port.number(), port.targetPort(), meta.labels(),
              meta.locality(), 1, meta.namespace(), meta.serviceAccount()));
        }
      }
      byHostname.put(hostname, new MeshService(hostname, first.namespace(), Optional.of(first.service()),
          List.copyOf(ports.values()), instances, List.of("*"), false, List.of()));
    });
  }

  private void addServiceEntry(ConfigResource resource, List<Workload> workloads, List<ConfigResource> workloadEntries,
      HostResolver resolver, BiConsumer<ConfigResource, String> warn) {
    ServiceEntry entry = resource.spec(ServiceEntry.class);
    List<MeshService.Port> ports = entry.ports().stream()
        .map(p -> new MeshService.Port(p.number(), p.name(), p.protocol()))
        .toList();
    for (String host : entry.hosts()) {
      if (host.startsWith("*")) {
        warn.accept(resource, "wildcard host " + host + " has no endpoints a client can dial; skipped");
        continue;
      }
      if (byHostname.containsKey(host)) {
        warn.accept(resource, "host " + host + " is already defined by another ServiceEntry or by registered workloads; this one is skipped");
        continue;
      }
      List<MeshService.Instance> instances = new ArrayList<>();
      for (ServiceEntry.Port port : entry.ports()) {
        instances.addAll(instancesFor(resource, entry, host, port, workloads, workloadEntries, resolver, warn));
      }
      boolean passthrough = entry.resolution() == ServiceEntry.Resolution.NONE && entry.workloadSelector().isEmpty();
      byHostname.put(host, new MeshService(host, resource.namespace(), Optional.empty(), ports, instances, entry.exportTo(),
          passthrough, entry.subjectAltNames(), entry.location() == ServiceEntry.Location.MESH_EXTERNAL));
    }
  }

  private static List<MeshService.Instance> instancesFor(ConfigResource resource, ServiceEntry entry, String host,
      ServiceEntry.Port port, List<Workload> workloads, List<ConfigResource> workloadEntries, HostResolver resolver,
      BiConsumer<ConfigResource, String> warn) {
    int defaultTarget = port.targetPort() > 0 ? port.targetPort() : port.number();
    List<MeshService.Instance> instances = new ArrayList<>();
    if (entry.workloadSelector().isPresent()) {
      Map<String, String> selector = entry.workloadSelector().get();
      for (ConfigResource we : workloadEntries) {
        WorkloadEntry workloadEntry = we.spec(WorkloadEntry.class);
        if (we.namespace().equals(resource.namespace()) && matches(selector, workloadEntry.labels())) {
          instances.add(instance(workloadEntry, we.namespace(), port, defaultTarget));
        }
      }
      for (Workload workload : workloads) {
        WorkloadMetadata meta = workload.metadata();
        if (meta.namespace().equals(resource.namespace()) && matches(selector, meta.labels())) {
          int target = meta.ports().stream()
              .filter(p -> p.name().equals(port.name()) || p.number() == port.number())
              .mapToInt(ServicePort::targetPort).findFirst().orElse(defaultTarget);
          instances.add(new MeshService.Instance(meta.address(), port.number(), target, meta.labels(), meta.locality(), 1,
              meta.namespace(), meta.serviceAccount()));
        }
      }
      return instances;
    }
    switch (entry.resolution()) {
      case STATIC -> entry.endpoints().forEach(e -> instances.add(instance(e, resource.namespace(), port, defaultTarget)));
      case DNS, DNS_ROUND_ROBIN, DYNAMIC_DNS -> {
        List<WorkloadEntry> endpoints = entry.endpoints().isEmpty()
            ? List.of(new WorkloadEntry(host, Map.of(), Map.of(), "", "", 0, ""))
            : entry.endpoints();
        for (WorkloadEntry endpoint : endpoints) {
          List<String> addresses = resolver.resolve(endpoint.address());
          if (addresses.isEmpty()) {
            warn.accept(resource, "DNS name " + endpoint.address() + " of host " + host + " does not resolve; it has no endpoints for now");
          }
          for (String address : addresses) {
            instances.add(instance(new WorkloadEntry(address, endpoint.ports(), endpoint.labels(), endpoint.network(),
                endpoint.locality(), endpoint.weight(), endpoint.serviceAccount()), resource.namespace(), port, defaultTarget));
          }
        }
      }
      case NONE -> { }
    }
    return instances;
  }

  private static MeshService.Instance instance(WorkloadEntry entry, String namespace, ServiceEntry.Port port,
      int defaultTarget) {
    int target = entry.ports().getOrDefault(port.name(), defaultTarget);
    return new MeshService.Instance(entry.address(), port.number(), target, entry.labels(),
        Locality.parse(entry.locality()), entry.weight() > 0 ? entry.weight() : 1, namespace, entry.serviceAccount());
  }

  static boolean matches(Map<String, String> selector, Map<String, String> labels) {
    for (Map.Entry<String, String> wanted : selector.entrySet()) {
      if (!wanted.getValue().equals(labels.get(wanted.getKey()))) {
        return false;
      }
    }
    return true;
  }
}
