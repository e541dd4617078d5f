/**
 * mesh-control, the control server: {@link MeshControl} assembles config sources, validation,
 * store, translation and the ADS server, run as {@link MeshControlOptions} say; {@link Main} is the
 * standalone jar ({@code java -jar mesh-control.jar}), which also carries {@code meshctl}. The
 * subpackages are the server's inside: documented, but not an API to build on.
 */
package dev.inmesh.control;
