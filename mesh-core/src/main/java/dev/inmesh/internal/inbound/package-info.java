/**
 * Not API: the transport-neutral inbound engine behind every server adapter. {@link
 * dev.inmesh.internal.inbound.FrontDoor} listens on the public port, decides each connection
 * ({@link dev.inmesh.internal.inbound.DoorDecision}), terminates mesh mTLS ({@code InboundTls}) and
 * records the peer in the {@link dev.inmesh.internal.inbound.ConnectionTable}; {@link
 * dev.inmesh.internal.inbound.DoorGate} decides each request an adapter reads off the server
 * behind it; {@link dev.inmesh.internal.inbound.InboundMetrics} counts both. Adapters reach it
 * through {@link dev.inmesh.spi.InboundDoor} and {@link dev.inmesh.spi.InboundGate}.
 */
package dev.inmesh.internal.inbound;
