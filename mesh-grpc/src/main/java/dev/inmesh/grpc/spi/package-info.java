/**
 * What a process that holds several workloads implements: {@link dev.inmesh.grpc.spi.XdsBootstraps}
 * gives each {@code Mesh}'s grpc-xds channels and servers a bootstrap of their own, where Inmesh
 * otherwise installs one bootstrap for the whole process (grpc-xds's supported configuration).
 */
package dev.inmesh.grpc.spi;
