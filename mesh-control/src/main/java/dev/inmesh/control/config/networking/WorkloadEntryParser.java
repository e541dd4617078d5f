package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.SpecParser;
import dev.inmesh.control.config.SpecReader;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reads and validates a WorkloadEntry spec (also the shape of ServiceEntry endpoints). */
public final class WorkloadEntryParser implements SpecParser<WorkloadEntry> {
  private static final java.util.regex.Pattern PORT_NAME = java.util.regex.Pattern.compile("[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?");

  @Override
  public WorkloadEntry parse(SpecReader spec, String namespace) {
    return read(spec, true);
  }

  /** {@code addressRequired} is false for ServiceEntry endpoints only in NONE-like corner cases; kept for clarity. */
  static WorkloadEntry read(SpecReader spec, boolean addressRequired) {
    String address = spec.string("address").orElse("");
    if (address.isEmpty() && addressRequired && !spec.has("network")) {
      spec.error("address", "Address is required");
    }
    Map<String, Integer> ports = new LinkedHashMap<>();
    spec.stringMap("ports").forEach((name, value) -> {
      if (!PORT_NAME.matcher(name).matches()) {
        spec.error("ports", "Invalid value: port name '" + name + "' is not a valid port name");
        return;
      }
      try {
        long number = Long.parseLong(value);
        NetworkingFields.checkPort(spec, "ports." + name, number);
        ports.put(name, (int) number);
      } catch (NumberFormatException e) {
        spec.error("ports." + name, "must be a port number, got '" + value + "'");
      }
    });
    if (address.startsWith("unix://")) {
      String path = address.substring("unix://".length());
      if (!path.startsWith("/") && !path.startsWith("@")) {
        spec.error("address", "UDS must be an absolute path or abstract socket, got '" + address + "'");
      } else if (path.endsWith("/")) {
        spec.error("address", "UDS may not be a dir, got '" + address + "'");
      }
      if (!ports.isEmpty()) {
        spec.error("ports", "UDS may not include ports");
      }
      spec.warn("address", "Unix domain socket endpoints are accepted but Inmesh clients connect over TCP only");
    }
    Map<String, String> labels = spec.stringMap("labels");
    NetworkingFields.checkLabels(spec, "labels", labels);
    String network = spec.string("network").orElse("");
    String locality = spec.string("locality").orElse("");
    if (locality.split("/", -1).length > 3) {
      spec.error("locality", "must be region/zone/subzone, got '" + locality + "'");
    }
    int weight = spec.integer("weight", 0, Integer.MAX_VALUE).map(Long::intValue).orElse(0);
    String serviceAccount = spec.string("serviceAccount").orElse("");
    if (!network.isEmpty()) {
      spec.warn("network", "accepted but not enforced by Inmesh: there is one network");
    }
    return new WorkloadEntry(address, ports, labels, network, locality, weight, serviceAccount);
  }
}
