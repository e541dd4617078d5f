/**
 * Istio's Bookinfo on Inmesh in one JVM ({@link Bookinfo}, what {@code bin/demo} runs): productpage,
 * details, reviews v1 to v3 and ratings, with httpbin for the Istio tasks that call it, and the
 * five-minute {@link Tour}. Not published.
 */
package dev.inmesh.examples.bookinfo;
