package dev.inmesh.control.translate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.internal.model.DestinationService;
import dev.inmesh.internal.xds.XdsDecoder;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import java.util.List;
import org.junit.jupiter.api.Test;

/** ServiceEntry location: MESH_EXTERNAL is never auto-mTLS; MESH_INTERNAL endpoints are mesh workloads. */
class ServiceEntryLocationTest {
  private static final ClientProfile WITH_CERTS = new ClientProfile("default", false, true);

  private final XdsTranslator translator = new XdsTranslator(host -> List.of(), "cluster.local");

  @Test
  void aMeshExternalEntryIsCalledWithoutMtlsEvenWhenItsEndpointsSayTheySpeakIt() {
    Translation translation = translate(entry("MESH_EXTERNAL"));
    Cluster cluster = cluster(translation, "outbound|443||db.partner.example");

    assertThat(cluster.hasTransportSocket()).isFalse();
    assertThat(cluster.getTransportSocketMatchesCount()).isZero();
    assertThat(held(cluster)).isEqualTo(new DestinationService("db.partner.example", "db.partner.example", "default", true));
  }

  @Test
  void aMeshInternalEntrysEndpointsAreMeshWorkloadsCalledWithAutoMtls() {
    Translation translation = translate(entry("MESH_INTERNAL"));
    Cluster cluster = cluster(translation, "outbound|443||db.partner.example");

    assertThat(cluster.hasTransportSocket()).isTrue();
    assertThat(held(cluster).meshExternal()).isFalse();
    assertThat(held(cluster).name()).isEqualTo("db.partner.example");
  }

  @Test
  void theDefaultLocationIsMeshExternalAsInIstio() {
    Translation translation = translate(entry("MESH_EXTERNAL").replace("  location: MESH_EXTERNAL\n", ""));

    assertThat(cluster(translation, "outbound|443||db.partner.example").hasTransportSocket()).isFalse();
  }

  private static String entry(String location) {
    return """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: db}
        spec:
          hosts: [db.partner.example]
          location: %s
          ports:
          - {number: 443, name: tcp, protocol: TCP}
          resolution: STATIC
          endpoints:
          - address: 10.0.0.7
            serviceAccount: db
            labels: {security.istio.io/tlsMode: istio}
        """.formatted(location);
  }

  private Translation translate(String yaml) {
    ParseResult parsed = ConfigParser.defaults().parse("test.yaml", yaml);
    assertThat(parsed.errors()).isEmpty();
    return translator.translate(new MeshState(parsed.resources(), List.of()), WITH_CERTS);
  }

  private static DestinationService held(Cluster cluster) {
    XdsDecoder.Decoded decoded = XdsDecoder.decode(List.of(), List.of(), List.of(cluster), List.of());
    assertThat(decoded.errors()).isEmpty();
    return decoded.resources().clusters().get(cluster.getName()).service().orElseThrow();
  }

  private static Cluster cluster(Translation translation, String name) {
    return translation.clusters().stream().filter(c -> c.getName().equals(name)).findFirst().orElseThrow();
  }
}
