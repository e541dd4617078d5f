/**
 * The inbound policy of a workload's ports, as mesh-control sends it in server listeners:
 * {@link InboundPolicy} (the port, its {@link MtlsMode} from PeerAuthentication, and its
 * authorization engine from AuthorizationPolicy). The server adapters (mesh-http-server, mesh-grpc)
 * enforce it.
 */
package dev.inmesh.inbound;
