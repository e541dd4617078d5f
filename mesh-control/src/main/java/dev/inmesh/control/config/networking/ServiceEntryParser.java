package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.SpecParser;
import dev.inmesh.control.config.SpecReader;
import dev.inmesh.control.config.networking.ServiceEntry.Location;
import dev.inmesh.control.config.networking.ServiceEntry.Port;
import dev.inmesh.control.config.networking.ServiceEntry.Resolution;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Reads and validates a ServiceEntry spec with Istio's rules. */
public final class ServiceEntryParser implements SpecParser<ServiceEntry> {
  @Override
  public ServiceEntry parse(SpecReader spec, String namespace) {
    List<String> hosts = spec.stringList("hosts");
    if (hosts.isEmpty()) {
      spec.error("hosts", "Required value");
    }
    NetworkingFields.checkHosts(spec, "hosts", hosts);
    if (hosts.contains("*")) {
      spec.error("hosts", "hostname cannot be wildcard");
    }
    List<String> addresses = spec.stringList("addresses");
    boolean cidr = addresses.stream().anyMatch(a -> a.contains("/"));
    List<Port> ports = new ArrayList<>();
    Set<String> names = new HashSet<>();
    Set<Integer> numbers = new HashSet<>();
    for (SpecReader port : spec.list("ports")) {
      long number = port.integer("number", Long.MIN_VALUE, Long.MAX_VALUE).orElse(0L);
      if (!port.has("number")) {
        port.error("number", "Required value");
      } else {
        NetworkingFields.checkPort(port, "number", number);
        if (!numbers.add((int) number)) {
          port.error("number", "port number cannot be duplicated: " + number);
        }
      }
      String name = port.requiredString("name");
      if (!name.isEmpty() && !names.add(name)) {
        port.error("name", "Duplicate value: \"" + name + "\"");
      }
      String protocol = port.string("protocol").orElse("");
      long target = port.integer("targetPort", Long.MIN_VALUE, Long.MAX_VALUE).orElse(0L);
      if (port.has("targetPort")) {
        NetworkingFields.checkPort(port, "targetPort", target);
      }
      port.finish();
      ports.add(new Port((int) number, protocol, name, (int) target));
    }
    Location location = spec.enumValue("location", Location.class).orElse(Location.MESH_EXTERNAL);
    Resolution resolution = spec.enumValue("resolution", Resolution.class).orElse(Resolution.NONE);
    if (cidr && resolution != Resolution.NONE && resolution != Resolution.STATIC) {
      spec.error("addresses", "CIDR addresses are allowed only for NONE/STATIC resolution types");
    }
    List<WorkloadEntry> endpoints = new ArrayList<>();
    for (SpecReader endpoint : spec.list("endpoints")) {
      endpoints.add(WorkloadEntryParser.read(endpoint, true));
      endpoint.finish();
    }
    Optional<Map<String, String>> selector = spec.object("workloadSelector").map(s -> {
      Map<String, String> labels = s.stringMap("labels");
      NetworkingFields.checkLabels(s, "labels", labels);
      s.finish();
      return labels;
    });
    if (selector.isPresent() && spec.has("endpoints")) {
      spec.error("workloadSelector", "only one of WorkloadSelector or Endpoints can be set");
    }
    if (resolution == Resolution.NONE && !endpoints.isEmpty()) {
      spec.error("endpoints", "NONE mode cannot set endpoints");
    }
    if (resolution == Resolution.DNS_ROUND_ROBIN && endpoints.size() > 1) {
      spec.error("endpoints", "DNS_ROUND_ROBIN mode cannot have multiple endpoints");
    }
    if (resolution == Resolution.DYNAMIC_DNS) {
      spec.warn("resolution", "accepted but not enforced by Inmesh: DYNAMIC_DNS is resolved like DNS");
    }
    if (resolution == Resolution.NONE) {
      spec.warn("resolution", "NONE forwards to the original destination, which needs a proxy; Inmesh clients only see endpoints that are listed or registered");
    }
    List<String> exportTo = spec.stringList("exportTo");
    NetworkingFields.checkExportTo(spec, exportTo);
    List<String> subjectAltNames = spec.stringList("subjectAltNames");
    return new ServiceEntry(hosts, addresses, ports, location, resolution, endpoints, selector, exportTo, subjectAltNames);
  }
}
