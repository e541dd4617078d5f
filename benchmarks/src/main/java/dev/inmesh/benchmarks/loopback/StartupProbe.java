package dev.inmesh.benchmarks.loopback;

import dev.inmesh.Mesh;
import dev.inmesh.http.client.MeshHttp;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * P11's new JVM: an app that starts, builds its Mesh (certificate from the CA, config from
 * mesh-control) and makes one routed mTLS call, then prints how long after its JVM started the
 * answer came, and what the JVM holds by then. Run by {@link MtlsHarness}: {@code StartupProbe
 * xds caTarget rootPemFile token}; or {@code StartupProbe --plain url}, the same app without
 * Inmesh: one plain OkHttp call, as the baseline.
 */
public final class StartupProbe {
  private StartupProbe() {}

  public static void main(String[] args) throws Exception {
    if (args[0].equals("--plain")) {
      try (Response response = new OkHttpClient().newCall(new Request.Builder().url(args[1]).build()).execute()) {
        response.body().bytes();
        long uptime = ManagementFactory.getRuntimeMXBean().getUptime();
        System.out.println("first plain call answered " + uptime + " ms after JVM start, status " + response.code());
        System.out.println(cpu());
      }
      System.out.println(footprint());
      System.exit(0);
    }
    try (Mesh mesh = Mesh.builder().controlServers(args[0]).namespace("default").serviceAccount("probe")
        .certificateAuthority(args[1], Files.readString(Path.of(args[2])), args[3]).build();
         Response response = MeshHttp.client(mesh).newCall(new Request.Builder().url("http://echo:9080/").build()).execute()) {
      response.body().bytes();
      long uptime = ManagementFactory.getRuntimeMXBean().getUptime();
      System.out.println("first routed mTLS call answered " + uptime + " ms after JVM start, status " + response.code()
          + (response.handshake() == null ? ", plaintext" : ", " + response.handshake().tlsVersion()));
      System.out.println(cpu());
      System.out.println(footprint());
    }
    System.exit(0);
  }

  /**
   * The CPU this JVM has used by the answer, all its threads together, and how long its JIT
   * compilers took of it. On a box of few cores, this over the number of cores is as fast as the
   * start could be, however its work were spread over threads.
   */
  static String cpu() {
    long cpuNanos = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    return String.format(Locale.ROOT, "cpu by the answer: %,d ms (compiling: %,d ms) on %d processors", cpuNanos / 1_000_000,
        ManagementFactory.getCompilationMXBean().getTotalCompilationTime(), Runtime.getRuntime().availableProcessors());
  }

  /**
   * What the JVM holds after its first call: class metadata, classes, threads and the heap in use
   * after a full collection. An app pays these once, however many calls it makes.
   */
  static String footprint() {
    System.gc();
    long metaspace = ManagementFactory.getMemoryPoolMXBeans().stream().filter(pool -> pool.getName().equals("Metaspace"))
        .mapToLong(pool -> pool.getUsage().getUsed()).sum();
    return String.format(Locale.ROOT, "footprint after the first call: metaspace %.1f MB, %,d classes, %d threads, heap in use %.1f MB",
        metaspace / 1e6, ManagementFactory.getClassLoadingMXBean().getLoadedClassCount(),
        ManagementFactory.getThreadMXBean().getThreadCount(),
        ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / 1e6);
  }
}
