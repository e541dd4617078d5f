/**
 * The per-cluster and per-route resilience primitives the outbound pipeline calls: fault
 * injection ({@link dev.inmesh.internal.resilience.FaultInjector}), retry pacing and budgets
 * ({@link dev.inmesh.internal.resilience.Backoff}, {@link dev.inmesh.internal.resilience.RetryBudget}), circuit
 * breaking ({@link dev.inmesh.internal.resilience.ConnectionLimiter}) and outlier ejection
 * ({@link dev.inmesh.internal.resilience.OutlierDetector}). Each is a config record plus the thing that
 * runs it; all are thread-safe, take their time and randomness from the caller, and do not
 * allocate on the request path except where they must hand something back.
 *
 * <p>They follow Envoy's semantics, which is what Istio's config means: circuit breaking is
 * per-cluster concurrency limits (with Envoy's pending-request counting), outlier detection ejects
 * single endpoints, retries have per-try timeouts and a budget relative to the requests in flight,
 * and backoff is fully jittered. No general-purpose library (Resilience4j's failure-rate circuit
 * breaker and retry among them) models these, so the code is our own; docs/data-plane.md says where
 * each differs.
 */
package dev.inmesh.internal.resilience;
