/**
 * Proxyless gRPC on the mesh: {@link MeshGrpc} builds grpc-java xDS channels and servers from a
 * {@code Mesh}, with the grpc-xds bootstrap made in memory, mesh certificates fed straight from the
 * workload's certificate manager, and Istio's mTLS modes, authorization, metrics and tracing.
 */
package dev.inmesh.grpc;
