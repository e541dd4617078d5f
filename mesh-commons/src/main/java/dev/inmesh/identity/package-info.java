/**
 * Workload identity as workloads and the CA both see it: {@link dev.inmesh.identity.SpiffeId},
 * Istio's SPIFFE shape. The CA's stricter rule for what it issues lives with the CA.
 */
package dev.inmesh.identity;
