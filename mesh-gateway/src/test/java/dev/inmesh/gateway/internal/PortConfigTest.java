package dev.inmesh.gateway.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.internal.model.GatewayListener;
import dev.inmesh.internal.security.authz.AuthorizationEngine;
import dev.inmesh.internal.security.jwt.JwtAuthentication;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

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

  private static PortConfig.Binding binding(String routes, String... names) {
    return new PortConfig.Binding(List.of(names), routes, null);
  }
}
