/**
 * The xDS side of mesh-control: {@link XdsServer}, the ADS and LRS server on java-control-plane's
 * snapshot cache, keeping a snapshot per client profile; who is on each stream as its connection
 * proves it ({@link XdsPeer}); what every client was sent and has ACKed or NACKed
 * ({@link ClientTracker}), and how far each config change has reached ({@link Rollouts}).
 */
package dev.inmesh.control.xds;
