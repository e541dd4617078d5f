package dev.inmesh.benchmarks.control;

import dev.inmesh.Mesh;
import dev.inmesh.benchmarks.HeapInUse;
import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import dev.inmesh.control.source.ApplyResult;
import dev.inmesh.testing.Await;
import java.time.Duration;
import java.util.Locale;

/**
 * P6: the heap a {@link Mesh} retains holding 1,000 services with 10 endpoints each (10,000
 * endpoints) and a route for each (1,000 routes). mesh-control in this JVM serves them as
 * ServiceEntries and VirtualServices; the heap in use after full collections is measured with the
 * Mesh holding the config and again after it is closed, so mesh-control's own share cancels out.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar dev.inmesh.benchmarks.control.MemoryFootprint [services]}
 */
public final class MemoryFootprint {
  private MemoryFootprint() {}

  public static void main(String[] args) throws Exception {
    int services = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    double megabytes = measure(services).megabytes();
    System.out.printf(Locale.ROOT, "%n| P6 | retained heap holding %,d services, %,d endpoints, %,d routes | %.1f MB | ≤ 10 MB | %s |%n",
        services, services * 10, services, megabytes, megabytes <= 10 ? "PASS" : "FAIL");
  }

  /** Megabytes of heap the Mesh retains, holding this many clusters. */
  public record Footprint(double megabytes, int clusters) {}

  public static Footprint measure(int services) throws Exception {
    try (MeshControl control = MeshControl.start(MeshControlOptions.ephemeral().withoutCa().withInsecureXds())) {
      StringBuilder yaml = new StringBuilder();
      for (int s = 0; s < services; s++) {
        yaml.append("""
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: svc-%1$d, namespace: default}
            spec:
              hosts: [svc-%1$d.example.internal]
              location: MESH_INTERNAL
              ports: [{number: 8080, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints:
            """.formatted(s));
        for (int e = 0; e < 10; e++) {
          yaml.append("  - address: 10.%d.%d.%d\n".formatted(s / 250, s % 250, e + 1));
        }
        yaml.append("""
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: svc-%1$d, namespace: default}
            spec:
              hosts: [svc-%1$d.example.internal]
              http:
              - match: [{uri: {prefix: /api/%1$d/}}]
                route: [{destination: {host: svc-%1$d.example.internal}}]
            ---
            """.formatted(s));
      }
      ApplyResult result = control.apply("benchmark", yaml.toString());
      if (!result.errors().isEmpty()) {
        throw new IllegalStateException("refused: " + result.errors().get(0));
      }
      // a first client makes mesh-control build the snapshot its namespace is served, so that the
      // measured one finds mesh-control's heap already at its size
      holdEverything(control, services).close();
      long before = HeapInUse.afterFullCollections();
      Mesh mesh = holdEverything(control, services);
      long holding = HeapInUse.afterFullCollections();
      int clusters = mesh.snapshot().resources().clusters().size();
      mesh.close();
      mesh = null; // nothing here holds the closed Mesh any more
      long after = HeapInUse.afterFullCollections();
      if (Boolean.getBoolean("inmesh.histogram")) {
        new ProcessBuilder("jcmd", Long.toString(ProcessHandle.current().pid()), "GC.class_histogram").inheritIO().start().waitFor();
      }
      System.out.printf(Locale.ROOT, "heap in use: %.1f MB before the Mesh, %.1f MB holding %d clusters, %.1f MB after closing it"
          + " (%d meters left in the global registry)%n", before / 1e6, holding / 1e6, clusters, after / 1e6,
          io.micrometer.core.instrument.Metrics.globalRegistry.getMeters().size());
      return new Footprint((holding - Math.min(before, after)) / 1e6, clusters);
    }
  }

  private static Mesh holdEverything(MeshControl control, int services) {
    Mesh mesh = Mesh.builder().controlServers("127.0.0.1:" + control.xdsPort()).namespace("default").build();
    mesh.awaitReady(Duration.ofSeconds(60));
    Await.until(() -> mesh.snapshot().resources().clusters().size() >= services
        && mesh.snapshot().resources().endpoints().values().stream().mapToInt(java.util.List::size).sum() >= services * 10,
        Duration.ofSeconds(120), "the Mesh to hold every cluster and endpoint");
    return mesh;
  }
}
