package dev.inmesh.gateway.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.internal.model.GatewayListener;
import dev.inmesh.internal.security.authz.AuthorizationEngine;
import dev.inmesh.internal.security.jwt.JwtAuthentication;
import dev.inmesh.testing.OpensslPki;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PortConfigTest {
  private static final GatewayListener LISTENER = new GatewayListener("0.0.0.0_8443", 8443, List.of(
      new GatewayListener.Server(List.of(), "plain", Optional.empty(), JwtAuthentication.NONE, AuthorizationEngine.EMPTY)));

  @Test
  void choosesTheExactNameThenTheLongestWildcardThenTheServerWithoutNames() {
    PortConfig config = new PortConfig(LISTENER, List.of(
        binding("default"),
        binding("wide", "*.example.com"),
        binding("narrow", "*.shop.example.com"),
        binding("exact", "www.shop.example.com")));

    assertThat(config.forSni("www.shop.example.com")).map(PortConfig.Binding::routeConfigName).hasValue("exact");
    assertThat(config.forSni("WWW.Shop.Example.com")).map(PortConfig.Binding::routeConfigName).hasValue("exact");
    assertThat(config.forSni("cart.shop.example.com")).map(PortConfig.Binding::routeConfigName).hasValue("narrow");
    assertThat(config.forSni("api.example.com")).map(PortConfig.Binding::routeConfigName).hasValue("wide");
    assertThat(config.forSni("example.org")).map(PortConfig.Binding::routeConfigName).hasValue("default");
    assertThat(config.forSni(null)).map(PortConfig.Binding::routeConfigName).hasValue("default");
  }

  @Test
  void aNameNoServerTakesGetsNoServerWhenNoneIsTheDefault() {
    PortConfig config = new PortConfig(LISTENER, List.of(binding("shop", "shop.example.com")));

    assertThat(config.forSni("admin.example.com")).isEmpty();
    assertThat(config.forSni(null)).as("a client that sends no SNI").isEmpty();
    assertThat(config.forSni("example.com")).as("*.example.com would not take the bare domain either").isEmpty();
  }

  @Test
  void aCredentialWrittenLaterIsServedARotatedOneIsLoadedAndAHalfWrittenOneKeepsTheCertificateItHad(@TempDir Path dir)
      throws Exception {
    OpensslPki pki = OpensslPki.create(Files.createDirectories(dir.resolve("pki")));
    Path credentials = Files.createDirectories(dir.resolve("credentials"));
    TlsContexts contexts = new TlsContexts(credentials, Optional.empty());
    GatewayListener listener = new GatewayListener("0.0.0.0_8443", 8443, List.of(new GatewayListener.Server(
        List.of("shop.example.com"), "https.8443.shop", Optional.of(new GatewayListener.ServerTls(GatewayListener.Mode.SIMPLE,
            Optional.of("shop-credential"), Optional.empty(), Optional.empty(), Optional.empty(), List.of())),
        JwtAuthentication.NONE, AuthorizationEngine.EMPTY)));

    PortConfig missing = PortConfig.of(listener, contexts);
    assertThat(missing.forSni("shop.example.com")).as("no files yet: not served").isEmpty();
    assertThat(missing.stale(contexts)).isFalse();

    write(credentials, pki.serverFor("shop.example.com"));
    assertThat(missing.stale(contexts)).as("the files appeared").isTrue();
    PortConfig served = PortConfig.of(listener, contexts, missing);
    SslContext first = served.forSni("shop.example.com").orElseThrow().tls();
    assertThat(first).isNotNull();
    assertThat(served.stale(contexts)).isFalse();
    assertThat(PortConfig.of(listener, contexts, served).forSni("shop.example.com").orElseThrow().tls())
        .as("unchanged files: the same context, not loaded again").isSameAs(first);

    write(credentials, pki.serverFor("shop.example.com"));
    assertThat(served.stale(contexts)).as("rotated").isTrue();
    PortConfig rotated = PortConfig.of(listener, contexts, served);
    SslContext second = rotated.forSni("shop.example.com").orElseThrow().tls();
    assertThat(second).isNotSameAs(first);

    Files.writeString(credentials.resolve("shop-credential").resolve("tls.crt"), "-----BEGIN CERTIFICATE-----\nhalf");
    assertThat(rotated.stale(contexts)).isTrue();
    PortConfig broken = PortConfig.of(listener, contexts, rotated);
    assertThat(broken.forSni("shop.example.com").orElseThrow().tls()).as("keeps the certificate it had").isSameAs(second);
    assertThat(broken.stale(contexts)).as("not tried again until the files change again").isFalse();
  }

  private static void write(Path credentials, OpensslPki.Pair pair) throws Exception {
    Path dir = Files.createDirectories(credentials.resolve("shop-credential"));
    // as a secret is rotated: new files moved into place
    for (var file : List.of(Map.entry(pair.certificate(), "tls.crt"), Map.entry(pair.key(), "tls.key"))) {
      Path next = dir.resolve(file.getValue() + ".next");
      Files.copy(file.getKey(), next, StandardCopyOption.REPLACE_EXISTING);
      Files.move(next, dir.resolve(file.getValue()), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
  }

  private static PortConfig.Binding binding(String routes, String... names) {
    return new PortConfig.Binding(List.of(names), routes, null);
  }
}
