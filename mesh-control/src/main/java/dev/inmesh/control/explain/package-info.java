/**
 * {@code meshctl explain}: what a client would do with one request, computed with the client's
 * own code (listener lookup, route table, first match) over the config that client holds, and what
 * the destination's authorization would decide.
 */
package dev.inmesh.control.explain;
