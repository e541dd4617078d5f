package dev.inmesh.internal.model;

import java.util.Objects;

/**
 * The service a cluster leads to, as Istio's cluster metadata names it ({@code istio.services}):
 * what a client's metrics report as {@code destination_service}, {@code destination_service_name}
 * and {@code destination_service_namespace}.
 *
 * @param host the FQDN, e.g. {@code reviews.default.svc.cluster.local}, or a ServiceEntry's host
 * @param name the service's name; a ServiceEntry's host for a ServiceEntry
 * @param namespace the namespace that declares the service
 * @param meshExternal a ServiceEntry with {@code location: MESH_EXTERNAL}: outside the mesh, never
 *     called with mesh mTLS nor told this workload's metadata, and reported with unknown workload labels
 */
public record DestinationService(String host, String name, String namespace, boolean meshExternal) {
  public DestinationService {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(namespace, "namespace");
  }
}
