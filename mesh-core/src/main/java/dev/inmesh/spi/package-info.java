/**
 * What transport adapters implement or call. Outbound: an adapter wraps its request in a {@link
 * dev.inmesh.spi.RequestView}, implements {@link dev.inmesh.spi.Transport} to send each
 * {@link dev.inmesh.spi.Attempt} the pipeline decides on, and calls {@code
 * Mesh.outbound().execute} with the caller's {@link dev.inmesh.spi.CallOptions}. Inbound: an
 * adapter builds an {@link dev.inmesh.spi.InboundDoor} for its public port, reads each request's
 * {@link dev.inmesh.spi.RequestHead} and asks the door's {@link dev.inmesh.spi.InboundGate}
 * whether to serve it, applying the {@link dev.inmesh.spi.RequestHeaderChanges} of an admitted
 * request (end-user authentication's) before the application sees it. Both directions: every adapter reports each call through one {@link
 * dev.inmesh.spi.CallRecorder} (Istio's metrics, the access log and the span).
 */
package dev.inmesh.spi;
