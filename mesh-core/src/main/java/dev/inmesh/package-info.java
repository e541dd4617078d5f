/**
 * The front door of Inmesh in an application. {@link Mesh} connects to mesh-control, registers
 * this workload, keeps the config in force as a {@link MeshSnapshot} and runs the outbound pipeline
 * that the client adapters (mesh-http-client, mesh-grpc) call through; {@link MeshConfig} is how it
 * runs, built with {@link Mesh#builder()}. Every error Inmesh raises on purpose is a
 * {@link MeshException} whose message says what to fix.
 */
package dev.inmesh;
