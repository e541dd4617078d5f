/**
 * {@code meshctl analyze} and {@code describe}: findings about the config as a whole, with
 * istioctl's codes where Istio has one ({@link AnalysisCode}), and what each resource affects.
 */
package dev.inmesh.control.analyze;
