package dev.inmesh.control.config.networking;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.networking.Gateway.Server;
import dev.inmesh.control.config.networking.Gateway.TlsMode;
import java.util.List;
import org.junit.jupiter.api.Test;

class GatewayParserTest {

  private static ParseResult parse(String spec) {
    return ConfigParser.defaults().parse("gateway.yaml", """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: edge
          namespace: shop
        spec:
        """ + spec.indent(2));
  }

  private static List<String> errorFields(ParseResult result) {
    return result.errors().stream().map(Problem::field).toList();
  }

  @Test
  void readsServersAndWarnsOnceThatGatewaysAreNotServed() {
    ParseResult result = parse("""
        selector:
          istio: ingressgateway
        servers:
        - port:
            number: 80
            name: http
            protocol: HTTP
          hosts: ["*"]
          tls:
            httpsRedirect: true
        - port:
            number: 443
            name: https
            protocol: HTTPS
          hosts: ["shop/orders.example.com", "./*.example.com", "*/api.example.com"]
          tls:
            mode: SIMPLE
            credentialName: orders-cert
            minProtocolVersion: TLSV1_2
        """);

    assertThat(result.errors()).isEmpty();
    Gateway gateway = result.resources().get(0).spec(Gateway.class);
    assertThat(gateway.selector()).containsEntry("istio", "ingressgateway");
    assertThat(gateway.servers()).extracting(server -> server.port().number()).containsExactly(80, 443);
    Server https = gateway.servers().get(1);
    assertThat(https.tls().orElseThrow().mode()).isEqualTo(TlsMode.SIMPLE);
    assertThat(result.warnings()).as("mesh-gateway serves it: nothing to warn about").isEmpty();
  }

  @Test
  void rejectsAGatewayWithoutServers() {
    assertThat(errorFields(parse("selector: {istio: ingressgateway}"))).containsExactly("spec.servers");
  }

  @Test
  void rejectsHttpsWithoutTlsSettings() {
    ParseResult result = parse("""
        servers:
        - port: {number: 443, name: https, protocol: HTTPS}
          hosts: ["*"]
        """);

    assertThat(errorFields(result)).containsExactly("spec.servers[0].tls");
  }

  @Test
  void rejectsSimpleTlsWithoutACertificate() {
    ParseResult result = parse("""
        servers:
        - port: {number: 443, name: https, protocol: HTTPS}
          hosts: ["*"]
          tls:
            mode: MUTUAL
        """);

    assertThat(errorFields(result)).containsExactly("spec.servers[0].tls.serverCertificate",
        "spec.servers[0].tls.privateKey", "spec.servers[0].tls.caCertificates");
  }

  @Test
  void rejectsIstioMutualWithItsOwnCredentials() {
    ParseResult result = parse("""
        servers:
        - port: {number: 15443, name: tls, protocol: TLS}
          hosts: ["*.local"]
          tls:
            mode: ISTIO_MUTUAL
            credentialName: my-secret
        """);

    assertThat(errorFields(result)).containsExactly("spec.servers[0].tls.credentialName");
  }

  @Test
  void rejectsTlsOnPlainPorts() {
    ParseResult result = parse("""
        servers:
        - port: {number: 3306, name: mysql, protocol: TCP}
          hosts: ["*"]
          tls: {mode: PASSTHROUGH}
        - port: {number: 8080, name: http, protocol: HTTP}
          hosts: ["*"]
          tls: {mode: SIMPLE, credentialName: cert}
        """);

    assertThat(errorFields(result)).containsExactly("spec.servers[0].tls", "spec.servers[1].tls");
  }

  @Test
  void rejectsBadPorts() {
    ParseResult result = parse("""
        servers:
        - port: {number: 0, name: a, protocol: HTTP}
          hosts: ["*"]
        - port: {number: 81, name: a, protocol: HTTP}
          hosts: ["*"]
        - port: {number: 82, name: c, protocol: SMTP}
          hosts: ["*"]
        - port: {number: 83, name: d, protocol: HTTP, targetPort: 8080}
          hosts: ["*"]
        - port: {number: 84, protocol: HTTP}
          hosts: ["*"]
        """);

    assertThat(errorFields(result)).containsExactly(
        "spec.servers[0].port.number",
        "spec.servers[1].port.name",
        "spec.servers[2].port.protocol",
        "spec.servers[3].port.targetPort",
        "spec.servers[4].port.name");
  }

  @Test
  void acceptsPortZeroOnlyForAUnixSocket() {
    ParseResult result = parse("""
        servers:
        - port: {number: 0, name: uds, protocol: HTTP}
          bind: unix:///var/run/edge.sock
          hosts: ["*"]
        - port: {number: 80, name: http, protocol: HTTP}
          bind: 10.0.0.1
          hosts: ["*"]
        - port: {number: 81, name: http2, protocol: HTTP}
          bind: somewhere
          hosts: ["*"]
        """);

    assertThat(errorFields(result)).containsExactly("spec.servers[2].bind");
  }

  @Test
  void rejectsBadHosts() {
    ParseResult result = parse("""
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: ["Bad_Namespace/foo.com", "/foo.com", "foo..com", "ok.example.com"]
        """);

    assertThat(errorFields(result)).containsExactly(
        "spec.servers[0].hosts[0]", "spec.servers[0].hosts[1]", "spec.servers[0].hosts[2]");
  }

  @Test
  void rejectsAWildcardInTheSelector() {
    ParseResult result = parse("""
        selector:
          istio: "*"
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: ["*"]
        """);

    assertThat(errorFields(result)).containsExactly("spec.selector.istio");
  }
}
