/** Not API: PEM, key and certificate building with BouncyCastle, CSR checks, and the transports. */
package dev.inmesh.ca.internal;
