/**
 * mesh-control's HTTP side: the operator API ({@link AdminServer}: apply, get, delete, status,
 * config dumps, rollout, join tokens) behind bearer tokens with roles, and the dashboard with its
 * service graph.
 */
package dev.inmesh.control.api;
