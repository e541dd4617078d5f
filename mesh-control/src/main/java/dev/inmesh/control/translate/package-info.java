/**
 * Istio config and the registry in, xDS out: per group of clients ({@link ClientProfile}), the
 * translator builds listeners, routes, clusters, endpoints and server listeners in the shapes Istio
 * generates, with Istio's names, for Inmesh and proxyless gRPC clients alike.
 */
package dev.inmesh.control.translate;
