/**
 * Load balancing: which endpoint of a cluster one attempt goes to. {@link
 * dev.inmesh.internal.balancing.LoadBalancers#create} is the one entry point; it builds the policy the
 * cluster's {@link dev.inmesh.internal.balancing.BalancerConfig} names, wrapped in Envoy's priority levels
 * and locality weights when EDS gives more than one of either.
 *
 * <p>A balancer is immutable over a fixed endpoint list, but reads health and requests in flight
 * live from {@link dev.inmesh.internal.balancing.EndpointState} on every pick: an ejection or a recovery
 * counts from the next pick, without rebuilding. The price is a walk over the endpoints per pick,
 * which is cheap for the tens to low thousands of endpoints a cluster has. Picks take no locks and
 * allocate nothing of their own.
 *
 * <p>Where we differ from Envoy, on purpose:
 *
 * <ul>
 *   <li>Panic mode has no threshold: it starts only when no endpoint at any priority is healthy,
 *       and then spreads over all endpoints of all priorities (Envoy sends everything to priority
 *       0 and panics there).
 *   <li>A retry avoids the endpoints it tried inside the balancer, and moves to the next priority
 *       when every healthy endpoint before it was tried; Envoy needs the {@code previous_hosts}
 *       retry predicate for the first and {@code previous_priorities} for the second.
 *   <li>Locality weights count whether or not the cluster sets {@code locality_weighted_lb_config},
 *       as in grpc-java, and a locality is drawn at random by its effective weight, where Envoy
 *       uses an EDF schedule.
 *   <li>Least request compares {@code (active + 1) / weight} for every candidate instead of switching
 *       to an EDF scheduler when weights differ.
 *   <li>The ring hash's per-endpoint entry count is quantized to a power of two of the weight, so
 *       removing an endpoint usually moves only its own keys; positions use our own 64-bit hash, so
 *       rings do not line up with Envoy's.
 * </ul>
 */
package dev.inmesh.internal.balancing;
