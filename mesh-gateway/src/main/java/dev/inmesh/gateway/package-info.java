/**
 * mesh-gateway: Istio's ingress and egress gateway as a mesh workload. {@link dev.inmesh.gateway.MeshGateway}
 * serves the ports of the Gateways that select its {@link dev.inmesh.Mesh} and routes every request
 * through mesh-core's outbound pipeline; {@link dev.inmesh.gateway.Main} runs it as a process.
 */
package dev.inmesh.gateway;
