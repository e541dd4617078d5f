/**
 * OkHttp and Retrofit clients on the mesh: {@link dev.inmesh.http.client.MeshHttp} is the front
 * door. Calls to mesh hosts go through mesh-core's outbound pipeline; other hosts pass through.
 */
package dev.inmesh.http.client;
