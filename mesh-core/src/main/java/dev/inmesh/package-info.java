/**
 * The front door of Inmesh in an application. {@link Mesh} connects to mesh-control, registers
 * this workload, keeps the config in force as a {@link MeshSnapshot} and runs the outbound pipeline
 * that the client adapters (mesh-http-client, mesh-grpc) call through; {@link MeshConfig} is how it
 * runs, built with {@link Mesh#builder()}. Every error Inmesh raises on purpose is a
 * {@link MeshException} whose message says what to fix. {@link Locality} places the workload
 * (for locality-aware balancing) and {@link Ticker} is the clock tests inject.
 *
 * <p>The packages of mesh-core draw one line: {@code dev.inmesh}, {@code dev.inmesh.inbound} and
 * {@code dev.inmesh.tracing} are what applications touch; {@code dev.inmesh.spi} is what transport
 * adapters implement or call; everything under {@code dev.inmesh.internal} may change in any
 * release.
 */
package dev.inmesh;
