/**
 * What an application touches of the inbound side: the policy of a workload's ports as
 * mesh-control sends it in server listeners ({@link InboundPolicy}: the port, its {@link MtlsMode}
 * from PeerAuthentication, its end-user JWT authentication from RequestAuthentication, and its
 * authorization engine from AuthorizationPolicy), the door's
 * limits ({@link DoorConfig}), and who called ({@link PeerInfo}, which handlers read). The engine
 * that enforces them is {@code dev.inmesh.internal.inbound}; the server adapters (mesh-http-server,
 * mesh-grpc) reach it through {@code dev.inmesh.spi}.
 */
package dev.inmesh.inbound;
