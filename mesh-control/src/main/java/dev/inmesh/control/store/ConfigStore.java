package dev.inmesh.control.store;

import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.ResourceKey;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Where accepted Istio resources live. Callers validate before they write; the store only keeps
 * what it is given and tells listeners. The embedded default is in memory; etcd comes later, so
 * nothing here may assume one process.
 */
public interface ConfigStore {
  List<ConfigResource> list();

  Optional<ConfigResource> get(ResourceKey key);

  /** Applies upserts and deletes as one change: listeners see both or neither. */
  void update(Collection<ConfigResource> upserts, Collection<ResourceKey> deletes);

  /** Called after every change; listeners must not block. */
  void addListener(Runnable listener);
}
