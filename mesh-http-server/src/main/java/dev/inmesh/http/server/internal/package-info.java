/** Not API: the door, its connection table, the request gate and the meters behind the adapters. */
package dev.inmesh.http.server.internal;
