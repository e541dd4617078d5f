package dev.inmesh.control.xds;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Sits between java-control-plane's server and its cache. It hands the cache the requests as
 * {@link ClientTracker#normalized} fixed them, and answers every watch as a non-ADS watch: in ADS
 * mode the cache says nothing at all while one requested name is missing, so a client that asks
 * for one unknown listener would get none of the others. Proxyless gRPC reads a missing name in a
 * state-of-the-world response as "does not exist", which is the truth.
 */
final class TrackingConfigWatcher implements ConfigWatcher {
  private final ConfigWatcher cache;
  private final ClientTracker tracker;

  TrackingConfigWatcher(ConfigWatcher cache, ClientTracker tracker) {
    this.cache = cache;
    this.tracker = tracker;
  }

  @Override
  public Watch createWatch(boolean ads, XdsRequest request, Set<String> knownResourceNames,
      Consumer<Response> responseConsumer, boolean hasClusterChanged, boolean allowDefaultEmptyEdsUpdate) {
    DiscoveryRequest normalized = tracker.normalized(request.v3Request());
    XdsRequest effective = normalized == request.v3Request() ? request : XdsRequest.create(normalized);
    return cache.createWatch(false, effective, knownResourceNames, responseConsumer, hasClusterChanged,
        allowDefaultEmptyEdsUpdate);
  }

  @Override
  public DeltaWatch createDeltaWatch(DeltaXdsRequest request, String requesterVersion,
      Map<String, String> resourceVersions, Set<String> pendingResources, boolean isWildcard,
      Consumer<DeltaResponse> responseConsumer, boolean hasClusterChanged) {
    return cache.createDeltaWatch(request, requesterVersion, resourceVersions, pendingResources, isWildcard,
        responseConsumer, hasClusterChanged);
  }
}
