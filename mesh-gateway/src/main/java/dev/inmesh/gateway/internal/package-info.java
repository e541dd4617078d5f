/** The gateway's Netty servers, TLS contexts and the forwarding into the mesh; not API. */
package dev.inmesh.gateway.internal;
