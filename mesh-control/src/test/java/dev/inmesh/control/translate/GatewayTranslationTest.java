package dev.inmesh.control.translate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.Locality;
import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.internal.model.GatewayListener;
import dev.inmesh.internal.model.ListenerConfig;
import dev.inmesh.internal.model.ServicePort;
import dev.inmesh.internal.routing.VirtualHost;
import dev.inmesh.internal.xds.WorkloadMetadata;
import dev.inmesh.internal.xds.XdsDecoder;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The gateway profile: Gateways and the VirtualServices bound to them, as a gateway workload is sent them. */
class GatewayTranslationTest {
  /** The shape of Istio's bookinfo-gateway.yaml: a selector, one HTTP server on 8080 for every host, a bound VirtualService. */
  private static final String FRONT_DOOR = """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata:
        name: shop-gateway
      spec:
        selector:
          istio: ingressgateway
        servers:
        - port:
            number: 8080
            name: http
            protocol: HTTP
          hosts:
          - "*"
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: shop
      spec:
        hosts:
        - "*"
        gateways:
        - shop-gateway
        http:
        - match:
          - uri:
              exact: /catalog
          - uri:
              prefix: /assets
          route:
          - destination:
              host: catalog
              port:
                number: 9080
      """;
  private static final ClientProfile INGRESS = new ClientProfile("istio-system", false, true, Locality.UNKNOWN,
      Map.of("istio", "ingressgateway", "app", "istio-ingressgateway"));

  private final XdsTranslator translator = new XdsTranslator(host -> List.of());
  private final List<Workload> workloads = List.of(workload("catalog", 9001), workload("orders", 9002));

  @Test
  void aGatewayWhoseLabelsTheSelectorMatchesGetsAListenerPerServerPortAndTheBoundRoutes() {
    Translation translation = translate(INGRESS, FRONT_DOOR);

    Listener listener = listener(translation, "0.0.0.0_8080");
    assertThat(listener.getAddress().getSocketAddress().getPortValue()).isEqualTo(8080);
    RouteConfiguration routes = route(translation, "http.8080");
    assertThat(routes.getVirtualHostsList()).extracting(h -> List.copyOf(h.getDomainsList())).containsExactly(List.of("*"));
    assertThat(routes.getVirtualHosts(0).getRoutesList()).extracting(r -> r.getRoute().getCluster())
        .containsExactly("outbound|9080||catalog.default.svc.cluster.local", "outbound|9080||catalog.default.svc.cluster.local");
    assertThat(translation.clusters()).extracting(c -> c.getName()).contains("outbound|9080||catalog.default.svc.cluster.local");
    assertThat(XdsDecoder.refusals(translation.listeners(), translation.routes(), translation.clusters(), translation.endpoints()))
        .as("what the gateway's own parsers make of it").isEmpty();
  }

  @Test
  void istiosUnmodifiedBookinfoGatewayGivesTheIngressGatewayPort8080RoutingItsPathsToProductpage() throws Exception {
    var file = dev.inmesh.testing.IstioSamples.file("bookinfo-networking/bookinfo-gateway.yaml");
    org.junit.jupiter.api.Assumptions.assumeTrue(file.isPresent(), "shared/istio-samples not found beside the repository");
    ParseResult parsed = ConfigParser.defaults().parse("bookinfo-gateway.yaml", java.nio.file.Files.readString(file.get()));
    assertThat(parsed.errors()).isEmpty();
    Translation translation = translator.translate(new MeshState(parsed.resources(),
        List.of(workload("productpage", 9001))), INGRESS);

    assertThat(listener(translation, "0.0.0.0_8080").getFilterChainsCount()).isEqualTo(1);
    RouteConfiguration routes = route(translation, "http.8080");
    assertThat(routes.getVirtualHostsList()).singleElement().satisfies(host -> {
      assertThat(host.getDomainsList()).containsExactly("*");
      assertThat(host.getRoutesList()).hasSize(5).allSatisfy(r ->
          assertThat(r.getRoute().getCluster()).isEqualTo("outbound|9080||productpage.default.svc.cluster.local"));
    });
    assertThat(translation.warnings()).as("nothing of it left out").isEmpty();
    assertThat(XdsDecoder.refusals(translation.listeners(), translation.routes(), translation.clusters(), translation.endpoints()))
        .isEmpty();
  }

  @Test
  void istiosSecureIngressGatewayWithTwoHostsGetsAFilterChainPerCredential() throws Exception {
    var file = dev.inmesh.testing.IstioSamples.file("istio-io-tasks/traffic-secure-ingress.yaml");
    org.junit.jupiter.api.Assumptions.assumeTrue(file.isPresent(), "shared/istio-samples not found beside the repository");
    String twoHosts = java.util.Arrays.stream(java.nio.file.Files.readString(file.get()).split("\n---\n"))
        .filter(doc -> doc.contains("https-helloworld")).findFirst().orElseThrow();
    ParseResult parsed = ConfigParser.defaults().parse("secure-ingress.yaml", twoHosts);
    assertThat(parsed.errors()).isEmpty();
    Translation translation = translator.translate(new MeshState(parsed.resources(), workloads), INGRESS);

    var decoded = XdsDecoder.decode(translation.listeners(), translation.routes(), translation.clusters(), translation.endpoints());
    assertThat(decoded.errors()).isEmpty();
    GatewayListener https = decoded.resources().listeners().get("0.0.0.0_443").gateway().orElseThrow();
    assertThat(https.servers()).extracting(GatewayListener.Server::serverNames)
        .containsExactly(List.of("httpbin.example.com"), List.of("helloworld.example.com"));
    assertThat(https.servers()).extracting(server -> server.tls().orElseThrow().credentialName().orElseThrow())
        .containsExactly("httpbin-credential", "helloworld-credential");
  }

  @Test
  void everyGatewayInIstiosSamplesTranslatesToWhatAGatewayAccepts() throws Exception {
    var root = dev.inmesh.testing.IstioSamples.root();
    org.junit.jupiter.api.Assumptions.assumeTrue(root.isPresent(), "shared/istio-samples not found beside the repository");
    List<java.nio.file.Path> files;
    try (var walk = java.nio.file.Files.walk(root.get())) {
      files = walk.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
    }
    int gateways = 0;
    List<String> refused = new java.util.ArrayList<>();
    for (java.nio.file.Path file : files) {
      List<dev.inmesh.control.config.ConfigResource> virtualServices = new java.util.ArrayList<>();
      List<dev.inmesh.control.config.ConfigResource> found = new java.util.ArrayList<>();
      for (String doc : java.nio.file.Files.readString(file).split("\\n---\\n")) {
        ParseResult parsed = ConfigParser.defaults().parse(file.getFileName().toString(), doc);
        if (!parsed.errors().isEmpty() || parsed.resources().size() != 1) {
          continue;
        }
        var resource = parsed.resources().get(0);
        if (resource.kind().equals("Gateway")) {
          found.add(resource);
        } else if (resource.kind().equals("VirtualService")) {
          virtualServices.add(resource);
        }
      }
      for (var gateway : found) {
        gateways++;
        Map<String, String> selector = gateway.spec(dev.inmesh.control.config.networking.Gateway.class).selector();
        ClientProfile profile = new ClientProfile(gateway.namespace(), false, true, Locality.UNKNOWN,
            selector.isEmpty() ? Map.of("app", "gateway") : selector);
        List<dev.inmesh.control.config.ConfigResource> state = new java.util.ArrayList<>(virtualServices);
        state.add(gateway);
        Translation translation = translator.translate(new MeshState(state, workloads), profile);
        XdsDecoder.refusals(translation.listeners(), translation.routes(), translation.clusters(), translation.endpoints())
            .forEach(r -> refused.add(file.getFileName() + " " + gateway.key() + ": " + r));
      }
    }
    assertThat(gateways).as("Gateways in the samples").isPositive();
    assertThat(refused).isEmpty();
  }

  @Test
  void theDataPlaneReadsTheGatewayListenerAsAPortWithItsRouteConfiguration() {
    Translation translation = translate(INGRESS, FRONT_DOOR);

    var decoded = XdsDecoder.decode(translation.listeners(), translation.routes(), translation.clusters(), translation.endpoints());

    assertThat(decoded.errors()).isEmpty();
    ListenerConfig listener = decoded.resources().listeners().get("0.0.0.0_8080");
    GatewayListener gateway = listener.gateway().orElseThrow();
    assertThat(gateway.port()).isEqualTo(8080);
    assertThat(gateway.servers()).extracting(GatewayListener.Server::routeConfigName).containsExactly("http.8080");
    assertThat(gateway.tls()).isFalse();
  }

  @Test
  void meshClientsAndUnselectedGatewaysGetNeitherTheGatewayListenerNorItsRoutes() {
    Translation mesh = translate(new ClientProfile("default", false, true), FRONT_DOOR);
    Translation egress = translate(new ClientProfile("istio-system", false, true, Locality.UNKNOWN,
        Map.of("istio", "egressgateway")), FRONT_DOOR);

    for (Translation translation : List.of(mesh, egress)) {
      assertThat(translation.listeners()).extracting(Listener::getName).noneMatch(n -> n.startsWith("0.0.0.0_"));
      assertThat(translation.routes()).extracting(RouteConfiguration::getName).doesNotContain("http.8080");
    }
    // the VirtualService bound only to the gateway does not route mesh clients' calls to catalog
    RouteConfiguration catalog = route(mesh, "catalog.default.svc.cluster.local:9080");
    assertThat(catalog.getVirtualHosts(0).getRoutesList()).extracting(r -> r.getName()).containsExactly("default");
  }

  @Test
  void aVirtualServiceListingMeshAndTheGatewayBindsToBothAndOneWithoutGatewaysToTheMeshOnly() {
    String gateway = FRONT_DOOR.substring(0, FRONT_DOOR.indexOf("---"));
    Translation atGateway = translate(INGRESS, gateway, """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: catalog-both
        spec:
          hosts: [catalog]
          gateways: [mesh, default/shop-gateway]
          http:
          - name: both
            route:
            - destination: {host: catalog}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: orders-mesh-only
        spec:
          hosts: [orders]
          http:
          - name: mesh-only
            route:
            - destination: {host: orders}
        """);

    RouteConfiguration routes = route(atGateway, "http.8080");
    assertThat(routes.getVirtualHostsList()).extracting(h -> h.getDomains(0)).containsExactly("catalog.default.svc.cluster.local");
    assertThat(routes.getVirtualHosts(0).getRoutes(0).getName()).isEqualTo("both");
    assertThat(route(atGateway, "catalog.default.svc.cluster.local:9080").getVirtualHosts(0).getRoutes(0).getName())
        .as("the mesh side of the same VirtualService").isEqualTo("both");
  }

  @Test
  void tlsServersGetAFilterChainEachMatchedBySniWithTheirCredentialsAndHttpsRedirectRequiresTls() {
    Translation translation = translate(INGRESS, """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop-gateway
        spec:
          selector:
            istio: ingressgateway
          servers:
          - port: {number: 8080, name: http, protocol: HTTP}
            hosts: ["shop.example.com"]
            tls:
              httpsRedirect: true
          - port: {number: 8443, name: https-shop, protocol: HTTPS}
            hosts: ["shop.example.com"]
            tls:
              mode: SIMPLE
              credentialName: shop-credential
          - port: {number: 8443, name: https-admin, protocol: HTTPS}
            hosts: ["admin.example.com"]
            tls:
              mode: MUTUAL
              serverCertificate: /etc/certs/admin.crt
              privateKey: /etc/certs/admin.key
              caCertificates: /etc/certs/clients-ca.crt
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: shop
        spec:
          hosts: ["shop.example.com", "admin.example.com"]
          gateways: [shop-gateway]
          http:
          - route:
            - destination: {host: catalog, port: {number: 9080}}
        """);

    var decoded = XdsDecoder.decode(translation.listeners(), translation.routes(), translation.clusters(), translation.endpoints());
    assertThat(decoded.errors()).isEmpty();
    GatewayListener https = decoded.resources().listeners().get("0.0.0.0_8443").gateway().orElseThrow();
    assertThat(https.servers()).extracting(GatewayListener.Server::serverNames)
        .containsExactly(List.of("shop.example.com"), List.of("admin.example.com"));
    GatewayListener.ServerTls shop = https.servers().get(0).tls().orElseThrow();
    assertThat(shop.mode()).isEqualTo(GatewayListener.Mode.SIMPLE);
    assertThat(shop.credentialName()).hasValue("shop-credential");
    assertThat(shop.alpn()).containsExactly("h2", "http/1.1");
    GatewayListener.ServerTls admin = https.servers().get(1).tls().orElseThrow();
    assertThat(admin.mode()).isEqualTo(GatewayListener.Mode.MUTUAL);
    assertThat(admin.certificateChain()).hasValue("/etc/certs/admin.crt");
    assertThat(admin.caCertificates()).hasValue("/etc/certs/clients-ca.crt");
    assertThat(https.servers()).extracting(GatewayListener.Server::routeConfigName)
        .containsExactly("https.8443.https-shop.shop-gateway.default", "https.8443.https-admin.shop-gateway.default");
    // each server's routes hold only the hosts it serves
    assertThat(decoded.resources().routes().get("https.8443.https-admin.shop-gateway.default").virtualHosts())
        .extracting(VirtualHost::domains).containsExactly(List.of("admin.example.com"));
    VirtualHost redirect = decoded.resources().routes().get("http.8080").virtualHosts().get(0);
    assertThat(redirect.domains()).containsExactly("shop.example.com");
    assertThat(redirect.tlsRequirement()).isEqualTo(VirtualHost.TlsRequirement.ALL);
  }

  @Test
  void aServerHostInNamespaceFormAdmitsOnlyVirtualServicesOfThatNamespace() {
    Translation translation = translate(INGRESS, """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop-gateway
          namespace: istio-system
        spec:
          selector:
            istio: ingressgateway
          servers:
          - port: {number: 8080, name: http, protocol: HTTP}
            hosts: ["shop/*.example.com"]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: storefront
          namespace: shop
        spec:
          hosts: ["www.example.com"]
          gateways: [istio-system/shop-gateway]
          http:
          - route:
            - destination: {host: catalog.default.svc.cluster.local, port: {number: 9080}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: intruder
          namespace: default
        spec:
          hosts: ["admin.example.com"]
          gateways: [istio-system/shop-gateway]
          http:
          - route:
            - destination: {host: orders, port: {number: 9080}}
        """);

    assertThat(route(translation, "http.8080").getVirtualHostsList()).extracting(h -> h.getDomains(0))
        .containsExactly("www.example.com");
  }

  @Test
  void aVirtualServiceNotExportedToTheGatewaysNamespaceIsNotServedThere() {
    String gateway = FRONT_DOOR.substring(0, FRONT_DOOR.indexOf("---"));
    Translation translation = translate(INGRESS, gateway, """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: private
        spec:
          hosts: ["private.example.com"]
          gateways: [shop-gateway]
          exportTo: ["."]
          http:
          - route:
            - destination: {host: catalog, port: {number: 9080}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: public
        spec:
          hosts: ["public.example.com"]
          gateways: [shop-gateway]
          exportTo: ["istio-system"]
          http:
          - route:
            - destination: {host: catalog, port: {number: 9080}}
        """);

    assertThat(route(translation, "http.8080").getVirtualHostsList()).extracting(h -> h.getDomains(0))
        .containsExactly("public.example.com");
  }

  @Test
  void aServerTheGatewayCannotServeIsLeftOutWithAWarningNamingTheField() {
    Translation translation = translate(INGRESS, """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: passthrough
        spec:
          selector:
            istio: ingressgateway
          servers:
          - port: {number: 8443, name: tls, protocol: TLS}
            hosts: ["db.example.com"]
            tls:
              mode: PASSTHROUGH
          - port: {number: 9443, name: https, protocol: HTTPS}
            hosts: ["shop.example.com"]
            tls:
              mode: SIMPLE
              credentialName: shop
              minProtocolVersion: TLSV1_3
        """);

    assertThat(translation.listeners()).extracting(Listener::getName).noneMatch(n -> n.startsWith("0.0.0.0_"));
    assertThat(translation.warnings()).extracting(Problem::field)
        .contains("spec.servers[0].port.protocol", "spec.servers[1].tls");
  }

  @Test
  void aGatewayProfileKeyKeepsItsLabelsThroughParsing() {
    ClientProfile profile = new ClientProfile("istio-system", false, true, new Locality("eu", "a", ""),
        Map.of("istio", "ingress,gateway=x;y", "app/name", "gw"));

    assertThat(ClientProfile.parse(profile.key())).isEqualTo(profile);
    assertThat(ClientProfile.parse(new ClientProfile("default", false, true).key()).gateway()).isFalse();
  }

  @Test
  void theGatewaysRequestAuthenticationAndAuthorizationPoliciesRunBeforeTheRouterAndTheGatewayReadsThem() throws Exception {
    String jwks = "{\"keys\":[" + new com.nimbusds.jose.jwk.gen.RSAKeyGenerator(2048).keyID("k").generate().toPublicJWK()
        .toJSONString() + "]}";
    String policies = """
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata:
          name: gateway-jwt
          namespace: istio-system
        spec:
          selector:
            matchLabels:
              istio: ingressgateway
          jwtRules:
          - issuer: "https://issuer.example.com"
            jwks: '%s'
        ---
        apiVersion: security.istio.io/v1
        kind: RequestAuthentication
        metadata:
          name: other-gateway-jwt
          namespace: istio-system
        spec:
          selector:
            matchLabels:
              istio: egressgateway
          jwtRules:
          - issuer: "https://other.example.com"
            jwks: '%s'
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata:
          name: require-jwt
          namespace: istio-system
        spec:
          selector:
            matchLabels:
              istio: ingressgateway
          rules:
          - from:
            - source:
                requestPrincipals: ["*"]
        """.formatted(jwks, jwks);

    Translation translation = translate(INGRESS, FRONT_DOOR, policies);

    var manager = io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.parseFrom(
        listener(translation, "0.0.0.0_8080").getFilterChains(0).getFilters(0).getTypedConfig().getValue());
    assertThat(manager.getHttpFiltersList()).extracting(f -> f.getName()).containsExactly("envoy.filters.http.jwt_authn",
        "envoy.filters.http.rbac", "envoy.filters.http.fault", "envoy.filters.http.router");
    assertThat(XdsDecoder.refusals(translation.listeners(), translation.routes(), translation.clusters(), translation.endpoints()))
        .as("what the gateway's own parsers make of it").isEmpty();
    GatewayListener parsed = XdsDecoder.decode(translation.listeners(), translation.routes(), translation.clusters(),
        translation.endpoints()).resources().listeners().get("0.0.0.0_8080").gateway().orElseThrow();
    assertThat(parsed.servers().get(0).authentication().providers()).extracting(p -> p.issuer().orElseThrow())
        .as("only the RequestAuthentication that selects this gateway").containsExactly("https://issuer.example.com");
    assertThat(parsed.servers().get(0).authorization().engines()).hasSize(1);
  }

  @Test
  void aGatewayNoPolicySelectsKeepsFaultAndRouterOnly() throws Exception {
    Translation translation = translate(INGRESS, FRONT_DOOR);

    var manager = io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.parseFrom(
        listener(translation, "0.0.0.0_8080").getFilterChains(0).getFilters(0).getTypedConfig().getValue());
    assertThat(manager.getHttpFiltersList()).extracting(f -> f.getName())
        .containsExactly("envoy.filters.http.fault", "envoy.filters.http.router");
  }

  private Translation translate(ClientProfile profile, String... yaml) {
    ParseResult parsed = ConfigParser.defaults().parse("gateway.yaml", String.join("\n---\n", yaml));
    assertThat(parsed.errors()).isEmpty();
    return translator.translate(new MeshState(parsed.resources(), workloads), profile);
  }

  private static Listener listener(Translation translation, String name) {
    return translation.listeners().stream().filter(l -> l.getName().equals(name)).findFirst().orElseThrow(
        () -> new AssertionError("no listener " + name + " in " + translation.listeners().stream().map(Listener::getName).toList()));
  }

  private static RouteConfiguration route(Translation translation, String name) {
    return translation.routes().stream().filter(r -> r.getName().equals(name)).findFirst().orElseThrow(
        () -> new AssertionError("no route configuration " + name));
  }

  private static Workload workload(String service, int port) {
    WorkloadMetadata metadata = new WorkloadMetadata(service, "default", service, service + "-1",
        Map.of("app", service), "127.0.0.1", List.of(ServicePort.of("http", 9080, port)), Locality.UNKNOWN);
    return new Workload(service + "-" + port, metadata, java.time.Instant.EPOCH);
  }
}
