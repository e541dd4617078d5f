/**
 * Authorization of inbound requests with Envoy's RBAC semantics, which is what Istio's
 * AuthorizationPolicy becomes: {@link dev.inmesh.internal.security.authz.AuthorizationEngine} composes
 * {@link dev.inmesh.internal.security.authz.RbacEngine}s of {@link dev.inmesh.internal.security.authz.Policy}s, each
 * a {@link dev.inmesh.internal.security.authz.Permission} tree and a
 * {@link dev.inmesh.internal.security.authz.Principal} tree, and answers an
 * {@link dev.inmesh.internal.security.authz.AuthzDecision} that names the deciding policy.
 *
 * <p>The package is transport-neutral and knows no protobuf: {@code dev.inmesh.internal.xds.Rbac} parses
 * the RBAC filter config into it, and each server adapts its request to an
 * {@link dev.inmesh.internal.security.authz.AuthzRequest}.
 *
 * <p>Where we differ from Envoy, on purpose: there are no {@code x-forwarded-for} hops and no PROXY
 * protocol, so source, direct remote and remote IP are all the peer address (as in gRPC, gRFC A41);
 * metadata, filter state and CEL conditions are not modelled, and the parser refuses them rather
 * than let them never match (a never-matching rule under a {@code not} would allow).
 */
package dev.inmesh.internal.security.authz;
