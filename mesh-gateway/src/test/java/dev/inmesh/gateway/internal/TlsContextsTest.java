package dev.inmesh.gateway.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.internal.model.GatewayListener;
import dev.inmesh.internal.security.authz.AuthorizationEngine;
import dev.inmesh.internal.security.jwt.JwtAuthentication;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsContextsTest {
  private static final GatewayListener.ServerTls MESH_TLS = new GatewayListener.ServerTls(GatewayListener.Mode.ISTIO_MUTUAL,
      Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), List.of("h2", "http/1.1"));

  @TempDir
  Path credentials;

  @Test
  void anIstioMutualServerNeedsTheGatewaysMeshCertificate() {
    TlsContexts contexts = new TlsContexts(credentials, Optional.empty());

    assertThatThrownBy(() -> contexts.context(MESH_TLS)).isInstanceOf(GatewayConfigException.class)
        .hasMessageContaining("ISTIO_MUTUAL needs the gateway's mesh certificate");
  }

  @Test
  void aGatewayWithoutAMeshCertificateLeavesItsIstioMutualServerOutSoNoNameGetsAHandshake() {
    GatewayListener listener = new GatewayListener("0.0.0.0_80", 80, List.of(new GatewayListener.Server(
        List.of("api.partner.example"), "https.80", Optional.of(MESH_TLS), JwtAuthentication.NONE, AuthorizationEngine.EMPTY)));

    PortConfig config = PortConfig.of(listener, new TlsContexts(credentials, Optional.empty()));

    assertThat(config.forSni("api.partner.example")).isEmpty();
    assertThat(config.forSni(null)).isEmpty();
  }
}
