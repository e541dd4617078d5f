package dev.inmesh.internal.balancing;

import dev.inmesh.internal.model.Endpoint;

/** What balancers may ask about an endpoint's live state; the cluster's runtime answers. */
public interface EndpointState {
  /** False while outlier detection has ejected the endpoint. */
  boolean isHealthy(Endpoint endpoint);

  /** Requests in flight to the endpoint right now, for least request. */
  int activeRequests(Endpoint endpoint);

  EndpointState ALL_HEALTHY = new EndpointState() {
    @Override
    public boolean isHealthy(Endpoint endpoint) {
      return true;
    }

    @Override
    public int activeRequests(Endpoint endpoint) {
      return 0;
    }
  };
}
