/**
 * The {@code networking.istio.io} kinds: VirtualService, DestinationRule, ServiceEntry,
 * WorkloadEntry, WorkloadGroup and Gateway, each a record and the parser that validates it with
 * Istio's rules; fields Inmesh accepts but does not enforce are reported as warnings.
 */
package dev.inmesh.control.config.networking;
