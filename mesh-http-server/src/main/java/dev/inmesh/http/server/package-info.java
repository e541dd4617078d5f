/**
 * The inbound side of HTTP servers in the mesh, done in process as an Istio sidecar does it:
 * mutual TLS under the port's PeerAuthentication mode, AuthorizationPolicy, and Istio's request
 * metrics.
 *
 * <p>A {@link dev.inmesh.http.server.MeshInbound} (the "door", on mesh-core's inbound engine)
 * listens on the workload's public port, tells TLS from plaintext by the first byte, accepts or
 * refuses the connection as the port's current policy says, terminates mesh mTLS and relays the
 * bytes to the real HTTP server, which listens on loopback. The adapters then authorize each request with the peer the door recorded:
 * {@link dev.inmesh.http.server.MeshHttpServer} for the JDK's built-in server and
 * {@link dev.inmesh.http.server.MeshServletFilter} for any Servlet container. Handlers find the
 * peer as {@link dev.inmesh.inbound.PeerInfo}.
 */
package dev.inmesh.http.server;
