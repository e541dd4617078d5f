/**
 * Test code that other modules' tests use through mesh-grpc's test jar: {@link
 * dev.inmesh.grpc.testing.PerMeshXdsBootstraps} gives every Mesh in a test JVM its own grpc-xds
 * bootstrap, through grpc-xds's test hooks.
 */
package dev.inmesh.grpc.testing;
