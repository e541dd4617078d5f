/**
 * Not API: the immutable records the data plane runs on, parsed from xDS: clusters and their
 * endpoints, localities, listeners, service ports, upstream TLS; with {@link Ticker}, the injected
 * clock, and {@link Memo}, a bounded cache for pure functions of inputs that recur.
 */
package dev.inmesh.internal.model;

import dev.inmesh.Ticker;
