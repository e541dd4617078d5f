/**
 * The per-cluster and per-route resilience primitives the outbound pipeline calls: fault
 * injection ({@link dev.inmesh.resilience.FaultInjector}), retry pacing and budgets
 * ({@link dev.inmesh.resilience.Backoff}, {@link dev.inmesh.resilience.RetryBudget}), circuit
 * breaking ({@link dev.inmesh.resilience.ConnectionLimiter}) and outlier ejection
 * ({@link dev.inmesh.resilience.OutlierDetector}). Each is a config record plus the thing that
 * runs it; all are thread-safe, take their time and randomness from the caller, and do not
 * allocate on the request path except where they must hand something back.
 */
package dev.inmesh.resilience;
