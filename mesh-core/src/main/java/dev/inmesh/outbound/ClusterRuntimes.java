package dev.inmesh.outbound;

import dev.inmesh.model.ClusterConfig;
import dev.inmesh.model.Locality;
import dev.inmesh.model.Ticker;
import dev.inmesh.xds.XdsResources;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.random.RandomGenerator;

/** Keeps one {@link ClusterRuntime} per cluster across config updates; updated on the xDS thread. */
public final class ClusterRuntimes {
  private final Map<String, ClusterRuntime> runtimes = new ConcurrentHashMap<>();
  private final Locality clientLocality;
  private final Ticker ticker;
  private final RandomGenerator random;

  public ClusterRuntimes(Locality clientLocality, Ticker ticker, RandomGenerator random) {
    this.clientLocality = clientLocality;
    this.ticker = ticker;
    this.random = random;
  }

  /** Applies new clusters and endpoints; returns the runtimes in force afterwards. */
  public Map<String, ClusterRuntime> update(XdsResources resources) {
    runtimes.keySet().retainAll(resources.clusters().keySet());
    for (ClusterConfig cluster : resources.clusters().values()) {
      ClusterRuntime runtime = runtimes.get(cluster.name());
      if (runtime == null) {
        runtime = new ClusterRuntime(cluster.name(), cluster, clientLocality, ticker, random);
        runtimes.put(cluster.name(), runtime);
      } else if (!runtime.config().equals(cluster)) {
        runtime.configure(cluster);
      }
      runtime.endpoints(resources.endpoints().getOrDefault(cluster.edsServiceName(), List.of()));
    }
    return Map.copyOf(runtimes);
  }
}
