package dev.inmesh.grpc.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.MeshException;
import dev.inmesh.grpc.spi.XdsBootstraps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The process-wide bootstrap, on an environment and properties of its own rather than the JVM's:
 * the first workload's bootstrap is installed, and whatever would make grpc-xds read another one
 * is refused with an error that names both.
 */
class ProcessXdsBootstrapTest {
  private final Map<String, String> environment = new HashMap<>();
  private final Properties properties = new Properties();
  private final ProcessXdsBootstrap process = new ProcessXdsBootstrap(environment::get, properties);

  private static Map<String, Object> bootstrap(String nodeId) {
    return Map.of(
        "xds_servers", List.of(Map.of("server_uri", "127.0.0.1:15010",
            "channel_creds", List.of(Map.of("type", "insecure")), "server_features", List.of("xds_v3"))),
        "node", Map.of("id", nodeId, "metadata", Map.of("NAMESPACE", "default")));
  }

  @Test
  void installsTheFirstWorkloadsBootstrapAsTheSystemPropertyAndDialsXdsTargets() {
    XdsBootstraps.Binding binding = process.bind("reviews.default", bootstrap("reviews~grpc~1"));

    assertThat(properties.getProperty(ProcessXdsBootstrap.CONFIG_PROPERTY))
        .contains("\"reviews~grpc~1\"").contains("\"127.0.0.1:15010\"");
    assertThat(binding.channelTarget("ratings:9080")).isEqualTo("xds:///ratings:9080");
    assertThat(binding.channelTarget("details:9080")).isEqualTo("xds:///details:9080");
  }

  @Test
  void refusesASecondWorkloadNamingBothAndTheDocs() {
    process.bind("reviews.default", bootstrap("reviews~grpc~1"));
    String installed = properties.getProperty(ProcessXdsBootstrap.CONFIG_PROPERTY);

    assertThatThrownBy(() -> process.bind("ratings.default", bootstrap("ratings~grpc~2")))
        .isInstanceOf(MeshException.class)
        .hasMessageContaining("ratings.default").hasMessageContaining("reviews.default")
        .hasMessageContaining("docs/grpc.md");
    assertThat(properties.getProperty(ProcessXdsBootstrap.CONFIG_PROPERTY)).isEqualTo(installed);
  }

  @Test
  void refusesABootstrapSetInTheSystemPropertyThatIsNotTheMeshs() {
    properties.setProperty(ProcessXdsBootstrap.CONFIG_PROPERTY, ProcessXdsBootstrap.toJson(bootstrap("someone-else")));

    assertThatThrownBy(() -> process.bind("reviews.default", bootstrap("reviews~grpc~1")))
        .isInstanceOf(MeshException.class)
        .hasMessageContaining("io.grpc.xds.bootstrapConfig").hasMessageContaining("reviews.default");
  }

  @Test
  void refusesABootstrapInTheEnvironmentEvenWhenThePropertyWouldBeTheMeshs() {
    // grpc-xds reads the environment variable before the property
    environment.put(ProcessXdsBootstrap.CONFIG_ENV, ProcessXdsBootstrap.toJson(bootstrap("someone-else")));
    properties.setProperty(ProcessXdsBootstrap.CONFIG_PROPERTY, ProcessXdsBootstrap.toJson(bootstrap("reviews~grpc~1")));

    assertThatThrownBy(() -> process.bind("reviews.default", bootstrap("reviews~grpc~1")))
        .isInstanceOf(MeshException.class).hasMessageContaining("GRPC_XDS_BOOTSTRAP_CONFIG");
  }

  @Test
  void acceptsABootstrapFileThatHoldsTheMeshsOwnBootstrapAndLeavesThePropertyAlone(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("bootstrap.json");
    // the same JSON laid out otherwise: keys reordered, no indentation
    Files.writeString(file, "{\"node\":{\"metadata\":{\"NAMESPACE\":\"default\"},\"id\":\"reviews~grpc~1\"},"
        + "\"xds_servers\":[{\"server_features\":[\"xds_v3\"],\"channel_creds\":[{\"type\":\"insecure\"}],"
        + "\"server_uri\":\"127.0.0.1:15010\"}]}");
    environment.put(ProcessXdsBootstrap.PATH_ENV, file.toString());

    XdsBootstraps.Binding binding = process.bind("reviews.default", bootstrap("reviews~grpc~1"));

    assertThat(binding.channelTarget("ratings:9080")).isEqualTo("xds:///ratings:9080");
    assertThat(properties).doesNotContainKey(ProcessXdsBootstrap.CONFIG_PROPERTY);
  }

  @Test
  void refusesABootstrapFileThatCannotBeRead(@TempDir Path dir) {
    properties.setProperty(ProcessXdsBootstrap.PATH_PROPERTY, dir.resolve("missing.json").toString());

    assertThatThrownBy(() -> process.bind("reviews.default", bootstrap("reviews~grpc~1")))
        .isInstanceOf(MeshException.class)
        .hasMessageContaining("io.grpc.xds.bootstrap").hasMessageContaining("missing.json");
  }

  @Test
  void refusesChannelsAndServersOnceTheBootstrapSettingWasChangedBehindIt() {
    XdsBootstraps.Binding binding = process.bind("reviews.default", bootstrap("reviews~grpc~1"));
    properties.setProperty(ProcessXdsBootstrap.CONFIG_PROPERTY, ProcessXdsBootstrap.toJson(bootstrap("someone-else")));

    assertThatThrownBy(() -> binding.channelTarget("ratings:9080"))
        .isInstanceOf(MeshException.class).hasMessageContaining("was changed").hasMessageContaining("reviews.default");
    properties.remove(ProcessXdsBootstrap.CONFIG_PROPERTY);
    assertThatThrownBy(() -> binding.configure(null))
        .isInstanceOf(MeshException.class).hasMessageContaining("was removed");
  }

  @Test
  void saysWhatABootstrapMayNotHold() {
    assertThatThrownBy(() -> ProcessXdsBootstrap.toJson(Map.of("port", 15010)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("java.lang.Integer");
  }
}
