/**
 * {@code meshctl}, the operator's command line ({@link Meshctl}): analyze, apply, get, describe,
 * delete, status, config-dump, explain, tokens and credentials, over mesh-control's HTTP API.
 */
package dev.inmesh.control.cli;
