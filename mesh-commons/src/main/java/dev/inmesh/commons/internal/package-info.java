/**
 * Not API. Start-up switches that every Inmesh process sets before it loads the JDK's HTTP server
 * or Netty: the data plane, mesh-control and the CA alike.
 */
package dev.inmesh.commons.internal;
