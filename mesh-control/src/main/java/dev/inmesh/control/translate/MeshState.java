package dev.inmesh.control.translate;

import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.IstioSpec;
import dev.inmesh.control.registry.Workload;
import java.util.List;

/** Everything the translator reads: the accepted config and the registered workloads. */
public record MeshState(List<ConfigResource> config, List<Workload> workloads) {
  public MeshState {
    config = List.copyOf(config);
    workloads = List.copyOf(workloads);
  }

  public List<ConfigResource> ofKind(Class<? extends IstioSpec> type) {
    return config.stream().filter(r -> type.isInstance(r.spec())).toList();
  }
}
