package dev.inmesh.control.store;

import dev.inmesh.control.registry.Workload;
import java.util.List;

/**
 * Where registered workloads live. The embedded default keeps them in memory; a replicated store
 * (etcd) keeps them on leases so that a dead replica's workloads expire by themselves.
 */
public interface RegistryStore {
  void put(Workload workload);

  void remove(String nodeId);

  List<Workload> list();

  /** Called after every change, on the store's own thread; listeners must not block. */
  void addListener(Runnable listener);
}
