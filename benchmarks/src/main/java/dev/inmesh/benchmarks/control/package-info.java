/**
 * Control-plane benchmarks: P8, a change reaching 1,000 ADS clients ({@link ConvergenceBenchmark}),
 * and P6, the heap a Mesh holding 1,000 services retains ({@link MemoryFootprint}). BENCHMARKS.md
 * has the figures and the commands.
 */
package dev.inmesh.benchmarks.control;
