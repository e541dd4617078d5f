/**
 * Not API, apart from {@link Tracing} and {@link MicrometerTracing}, which apps pass to
 * {@code Mesh.builder().tracing(...)}: Istio's standard request metrics ({@link IstioMetrics}),
 * certificate meters, Envoy-format access logs, audit and dry-run authorization logs, Istio's
 * metadata exchange ({@link PeerMetadata}) and W3C/B3 trace context ({@link TraceContext}), the same
 * for every transport.
 */
package dev.inmesh.internal.telemetry;

import dev.inmesh.tracing.MicrometerTracing;
import dev.inmesh.tracing.TraceContext;
import dev.inmesh.tracing.Tracing;
