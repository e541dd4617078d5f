/**
 * AuthorizationPolicy to Envoy's RBAC HTTP filters, in the shapes Istio's generator emits (policy
 * names, principals, matchers, trust domain aliases), which both proxyless gRPC (gRFC A41) and
 * Inmesh's data plane read.
 */
package dev.inmesh.control.translate.authz;
