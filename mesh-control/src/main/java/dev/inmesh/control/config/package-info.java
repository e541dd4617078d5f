/**
 * Istio YAML in, validated resources out: {@link ConfigParser} reads multi-document YAML with
 * Istio's validation rules into typed {@link IstioSpec}s, and reports every {@link Problem} with the
 * source, the resource and the field path; it never throws for bad input. {@link Kinds} lists the
 * kinds Inmesh reads.
 */
package dev.inmesh.control.config;
