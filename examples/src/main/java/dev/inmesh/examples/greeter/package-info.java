/**
 * The first demo ({@link GreeterDemo}): an unmodified grpc-java {@code xds:///} client following an
 * 80/20 split between two greeter versions that registered with mesh-control. Not published.
 */
package dev.inmesh.examples.greeter;
