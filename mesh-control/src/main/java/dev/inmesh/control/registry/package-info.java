/**
 * Workloads that registered themselves over ADS: they join with their first request's node
 * metadata and leave once no stream of theirs has been open for the grace period.
 */
package dev.inmesh.control.registry;
