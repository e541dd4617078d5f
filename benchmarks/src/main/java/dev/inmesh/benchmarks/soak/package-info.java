/**
 * {@link Soak}: a mesh under steady load while mesh-control is killed and restarted, workloads
 * come and go and policy changes, with what must hold throughout checked as it runs.
 */
package dev.inmesh.benchmarks.soak;
