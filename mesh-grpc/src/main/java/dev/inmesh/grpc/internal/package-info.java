/**
 * Not API: the grpc-xds plugins (certificate provider, xDS channel credentials, a resolver over
 * every mesh-control replica), the server behind Inmesh's inbound door, and gRPC metrics, tracing
 * and authorization logs.
 */
package dev.inmesh.grpc.internal;
