package dev.inmesh.control.store;

import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.ResourceKey;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** The embedded default: a sorted map guarded by this object. */
public final class InMemoryConfigStore implements ConfigStore {
  private final TreeMap<ResourceKey, ConfigResource> resources = new TreeMap<>();
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

  @Override
  public synchronized List<ConfigResource> list() {
    return List.copyOf(resources.values());
  }

  @Override
  public synchronized Optional<ConfigResource> get(ResourceKey key) {
    return Optional.ofNullable(resources.get(key));
  }

  @Override
  public void update(Collection<ConfigResource> upserts, Collection<ResourceKey> deletes) {
    synchronized (this) {
      deletes.forEach(resources::remove);
      upserts.forEach(resource -> resources.put(resource.key(), resource));
    }
    listeners.forEach(Runnable::run);
  }

  @Override
  public void addListener(Runnable listener) {
    listeners.add(listener);
  }
}
