package dev.inmesh.benchmarks.loopback;

import dev.inmesh.Mesh;
import dev.inmesh.http.client.MeshHttp;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import okhttp3.Request;
import okhttp3.Response;

/**
 * P11's new JVM: an app that starts, builds its Mesh (certificate from the CA, config from
 * mesh-control) and makes one routed mTLS call, then prints how long after its JVM started the
 * answer came. Run by {@link MtlsHarness}: {@code StartupProbe xds caTarget rootPemFile token}.
 */
public final class StartupProbe {
  private StartupProbe() {}

  public static void main(String[] args) throws Exception {
    try (Mesh mesh = Mesh.builder().controlServers(args[0]).namespace("default").serviceAccount("probe")
        .certificateAuthority(args[1], Files.readString(Path.of(args[2])), args[3]).build();
         Response response = MeshHttp.client(mesh).newCall(new Request.Builder().url("http://echo:9080/").build()).execute()) {
      response.body().bytes();
      long uptime = ManagementFactory.getRuntimeMXBean().getUptime();
      System.out.println("first routed mTLS call answered " + uptime + " ms after JVM start, status " + response.code()
          + (response.handshake() == null ? ", plaintext" : ", " + response.handshake().tlsVersion()));
    }
    System.exit(0);
  }
}
