/**
 * RequestAuthentication to Envoy's {@code jwt_authn} HTTP filter, in the shape istiod writes for a
 * workload's inbound listener ({@link dev.inmesh.control.translate.authn.RequestAuthnTranslator}),
 * and the JWKS that {@code jwksUri} names, fetched, cached, refreshed and inlined by
 * {@link dev.inmesh.control.translate.authn.JwksResolver} as istiod does.
 */
package dev.inmesh.control.translate.authn;
