package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.SpecParser;
import dev.inmesh.control.config.SpecReader;
import java.util.Map;

/** Reads and validates a WorkloadGroup spec: {@code metadata}, {@code template} and {@code probe}. */
public final class WorkloadGroupParser implements SpecParser<WorkloadGroup> {
  @Override
  public WorkloadGroup parse(SpecReader spec, String namespace) {
    Map<String, String> labels = Map.of();
    Map<String, String> annotations = Map.of();
    var metadata = spec.object("metadata");
    if (metadata.isPresent()) {
      labels = metadata.get().stringMap("labels");
      NetworkingFields.checkLabels(metadata.get(), "labels", labels);
      annotations = metadata.get().stringMap("annotations");
      metadata.get().finish();
    }
    var template = spec.object("template");
    WorkloadEntry entry;
    if (template.isPresent()) {
      entry = WorkloadEntryParser.read(template.get(), false);
      if (!entry.address().isEmpty()) {
        template.get().warn("address", "not used: each workload of the group registers the address it connects from");
      }
      template.get().finish();
    } else {
      spec.error("template", "template is required");
      entry = new WorkloadEntry("", Map.of(), Map.of(), "", "", 0, "");
    }
    if (spec.has("probe")) {
      spec.notHonoured("probe", "Inmesh does not probe workloads; a workload is in the mesh while its xDS stream is");
    }
    return new WorkloadGroup(labels, annotations, entry);
  }
}
