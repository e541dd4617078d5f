/**
 * The {@code security.istio.io} kinds: AuthorizationPolicy, PeerAuthentication and
 * RequestAuthentication, each a record and the parser that applies Istio's CRD schema, CEL rules and
 * webhook checks, and the workload selection ({@code selector}, {@code targetRefs}) they share.
 */
package dev.inmesh.control.config.security;
