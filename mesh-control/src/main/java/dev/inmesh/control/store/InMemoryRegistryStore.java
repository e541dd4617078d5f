package dev.inmesh.control.store;

import dev.inmesh.control.registry.Workload;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** The embedded default registry store. */
public final class InMemoryRegistryStore implements RegistryStore {
  private final Map<String, Workload> workloads = new ConcurrentHashMap<>();
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

  @Override
  public void put(Workload workload) {
    workloads.put(workload.nodeId(), workload);
    listeners.forEach(Runnable::run);
  }

  @Override
  public void remove(String nodeId) {
    if (workloads.remove(nodeId) != null) {
      listeners.forEach(Runnable::run);
    }
  }

  @Override
  public List<Workload> list() {
    return List.copyOf(workloads.values());
  }

  @Override
  public void addListener(Runnable listener) {
    listeners.add(listener);
  }
}
