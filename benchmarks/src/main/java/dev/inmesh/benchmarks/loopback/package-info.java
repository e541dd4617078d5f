/**
 * End-to-end benchmarks on loopback against nginx, with HAProxy as the sidecar stand-in:
 * {@link LoopbackHarness} (P2 to P5), {@link MtlsHarness} (P7) and {@link StartupHarness} (P11).
 * BENCHMARKS.md has the figures and the commands.
 */
package dev.inmesh.benchmarks.loopback;
