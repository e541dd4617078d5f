/**
 * Not API: Inmesh's own xDS client, where mesh-core reads Envoy's protobuf types (outside it, only
 * {@code Mesh} builds its ADS node). {@link AdsClient} holds the ADS stream (ACK, NACK naming the
 * resource and field, reconnect with backoff over the control servers); the {@code *Parser} classes
 * turn listeners, routes, clusters, endpoints, faults, TLS and RBAC into the immutable model,
 * refusing with an {@link XdsParseException} what Inmesh cannot honour; {@link XdsResources} is what
 * was accepted, and {@link LoadReporter} sends load reports (LRS).
 */
package dev.inmesh.internal.xds;
