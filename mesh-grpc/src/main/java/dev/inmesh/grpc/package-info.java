/**
 * Placeholder: this module arrives with its own issue (see README.md, "Status").
 */
package dev.inmesh.grpc;
