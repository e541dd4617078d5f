/**
 * What transport adapters implement or call. Inbound: an adapter builds an {@link
 * dev.inmesh.spi.InboundDoor} for its public port, reads each request's {@link
 * dev.inmesh.spi.RequestHead} and asks the door's {@link dev.inmesh.spi.InboundGate} whether to
 * serve it. Both directions: every adapter reports each call through one {@link
 * dev.inmesh.spi.CallRecorder} (Istio's metrics, the access log and the span).
 */
package dev.inmesh.spi;
