/**
 * Shared fixtures for the other modules' tests (test scope only, not published): real greeter gRPC
 * servers registered with mesh-control, a real etcd cluster, a small openssl PKI, headless
 * Chromium, a recording tracer, access log capture, a hand-moved clock and bounded waiting.
 */
package dev.inmesh.testing;
