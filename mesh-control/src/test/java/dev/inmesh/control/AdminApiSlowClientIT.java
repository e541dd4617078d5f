package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients that start a request on the operator API and never finish it (slow loris) hold its few
 * threads only until the request time runs out; then the API answers again. The jar runs with
 * the JDK's request time at 2 s, where mesh-control's default is 20 s.
 */
class AdminApiSlowClientIT {
  private static final Pattern LISTENING = Pattern.compile("HTTP API on http://127\\.0\\.0\\.1:(\\d+)");

  @TempDir
  Path dir;

  @Test
  void slowClientsAreCutOffAndTheApiAnswersAgain() throws Exception {
    Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Dsun.net.httpserver.maxReqTime=2", "-jar", Path.of("target", "mesh-control.jar").toString(),
        "--xds-port", "0", "--http-port", "0", "--ca-grpc-port", "0", "--ca-https-port", "0",
        "--admin-credential", dir.resolve("credential").toString())
        .redirectErrorStream(true).start();
    List<Socket> slow = new ArrayList<>();
    // not closed here: a thread drains it until the process ends
    BufferedReader output = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    try {
      int port = -1;
      for (String line = output.readLine(); line != null; line = output.readLine()) {
        Matcher matcher = LISTENING.matcher(line);
        if (matcher.find()) {
          port = Integer.parseInt(matcher.group(1));
          break;
        }
      }
      assertThat(port).isPositive();
      Thread drain = new Thread(() -> output.lines().forEach(line -> { }));
      drain.setDaemon(true);
      drain.start();
      HttpClient http = HttpClient.newHttpClient();
      HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz"))
          .timeout(Duration.ofSeconds(15)).build();
      MeshFixture.await(() -> {
        try {
          return http.send(health, HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
        } catch (Exception e) {
          return false;
        }
      }, Duration.ofSeconds(30), "the API");

      // more stalled requests than the API has threads
      for (int i = 0; i < 16; i++) {
        Socket socket = new Socket("127.0.0.1", port);
        OutputStream out = socket.getOutputStream();
        out.write("GET /heal".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        slow.add(socket);
      }
      long start = System.nanoTime();
      HttpResponse<String> answer = http.send(health, HttpResponse.BodyHandlers.ofString());
      long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

      assertThat(answer.statusCode()).isEqualTo(200);
      assertThat(waited).as("answered once the stalled requests ran out of time").isLessThan(12_000);
      slow.get(0).setSoTimeout(10_000);
      assertThat(slow.get(0).getInputStream().read()).as("a stalled connection is closed").isEqualTo(-1);
    } finally {
      for (Socket socket : slow) {
        socket.close();
      }
      process.destroy();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
