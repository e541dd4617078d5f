package dev.inmesh.internal.outbound;

import dev.inmesh.Ticker;
import dev.inmesh.internal.model.ClusterConfig;
import dev.inmesh.internal.xds.XdsResources;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.random.RandomGenerator;

/** Keeps one {@link ClusterRuntime} per cluster across config updates; updated on the xDS thread. */
public final class ClusterRuntimes {
  private final Map<String, ClusterRuntime> runtimes = new ConcurrentHashMap<>();
  private final Ticker ticker;
  private final RandomGenerator random;
  private final MeterRegistry registry;

  /** @param registry where each cluster's {@link ClusterMetrics} go, for as long as the cluster is in the config */
  public ClusterRuntimes(Ticker ticker, RandomGenerator random, MeterRegistry registry) {
    this.ticker = ticker;
    this.random = random;
    this.registry = registry;
  }

  /** Applies new clusters and endpoints; returns the runtimes in force afterwards. */
  public Map<String, ClusterRuntime> update(XdsResources resources) {
    runtimes.values().removeIf(runtime -> {
      boolean gone = !resources.clusters().containsKey(runtime.name());
      if (gone) {
        runtime.close();
      }
      return gone;
    });
    for (ClusterConfig cluster : resources.clusters().values()) {
      ClusterRuntime runtime = runtimes.get(cluster.name());
      if (runtime == null) {
        runtime = new ClusterRuntime(cluster.name(), cluster, ticker, random);
        runtime.meter(registry);
        runtimes.put(cluster.name(), runtime);
      } else if (!runtime.config().equals(cluster)) {
        runtime.configure(cluster);
      }
      runtime.endpoints(resources.endpoints().getOrDefault(cluster.edsServiceName(), List.of()));
    }
    return Map.copyOf(runtimes);
  }

  /** Removes every cluster's meters; the Mesh is closing. */
  public void close() {
    runtimes.values().forEach(ClusterRuntime::close);
  }
}
