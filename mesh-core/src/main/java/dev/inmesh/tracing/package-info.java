/**
 * Tracing as applications plug it in: {@link dev.inmesh.tracing.Tracing} is what the mesh opens
 * spans on ({@link dev.inmesh.tracing.MicrometerTracing} adapts Micrometer Tracing's
 * {@code Tracer}), and {@link dev.inmesh.tracing.TraceContext} is the W3C {@code traceparent} /
 * {@code tracestate} and B3 context the mesh reads from requests and writes on the calls it makes.
 */
package dev.inmesh.tracing;
