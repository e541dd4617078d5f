/** Shared test fixtures. */
package dev.inmesh.testing;
