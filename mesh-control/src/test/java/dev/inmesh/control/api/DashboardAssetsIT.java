package dev.inmesh.control.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.MeshControl;
import dev.inmesh.control.MeshControlOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The dashboard's layout script comes from mesh-control itself, to anyone, as the page does: one
 * fixed path, JavaScript, from the dagre WebJar. No other path under it names a file.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DashboardAssetsIT {
  private MeshControl control;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() throws Exception {
    control = MeshControl.start(MeshControlOptions.ephemeral());
  }

  @AfterAll
  void stop() {
    control.close();
  }

  @Test
  void theLayoutScriptIsServedFromTheWebJarWithoutACredential() throws Exception {
    HttpResponse<byte[]> script = get(DashboardAssets.LAYOUT, null);

    assertThat(script.statusCode()).isEqualTo(200);
    assertThat(script.headers().firstValue("Content-Type")).contains("text/javascript; charset=utf-8");
    assertThat(script.headers().firstValue("X-Content-Type-Options")).contains("nosniff");
    String body = new String(script.body(), StandardCharsets.UTF_8);
    assertThat(body).startsWith("(function(f){").contains("g.dagre=f()");
    assertThat(script.body().length).as("dagre with graphlib and lodash bundled").isGreaterThan(200_000);
    String page = new String(get("/dashboard", null).body(), StandardCharsets.UTF_8);
    assertThat(page).contains("<script src=\"" + DashboardAssets.LAYOUT + "\"></script>");
  }

  @Test
  void noOtherPathUnderTheAssetsNamesAFile() throws Exception {
    String token = control.adminCredential().orElseThrow().token();
    for (String path : new String[] {"/dashboard/assets/dagre.js", "/dashboard/assets/%2e%2e/%2e%2e/debug/graph",
        "/dashboard/assets/..%2fdashboard.html", "/dashboard/assets/"}) {
      assertThat(get(path, null).statusCode()).as("%s without a credential", path).isEqualTo(401);
      HttpResponse<byte[]> reply = get(path, token);
      assertThat(reply.statusCode()).as("%s with one", path).isEqualTo(404);
      assertThat(new String(reply.body(), StandardCharsets.UTF_8)).contains("no such endpoint");
    }
  }

  private HttpResponse<byte[]> get(String path, String token) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + control.httpPort() + path));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }
}
