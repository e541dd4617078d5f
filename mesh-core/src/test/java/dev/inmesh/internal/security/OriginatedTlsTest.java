package dev.inmesh.internal.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.internal.model.TlsOrigination;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OriginatedTlsTest {
  @TempDir
  Path dir;

  @Test
  void aWildcardNameCoversOneLabelAsInHttps() {
    assertThat(OriginatedTls.dnsMatches("*.partner.example", "api.partner.example")).isTrue();
    assertThat(OriginatedTls.dnsMatches("*.partner.example", "a.b.partner.example")).isFalse();
    assertThat(OriginatedTls.dnsMatches("*.partner.example", "partner.example")).isFalse();
    assertThat(OriginatedTls.dnsMatches("api.partner.example", "api.partner.example")).isTrue();
  }

  @Test
  void filesThatCannotBeUsedAreRefusedNamingTheFieldAndTheFile() throws Exception {
    Files.writeString(dir.resolve("ca.pem"), "not a certificate");
    Path key = dir.resolve("key.pem");
    Files.writeString(key, "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
    TlsOrigination mutual = new TlsOrigination(new TlsOrigination.SystemRoots(), Optional.empty(),
        Optional.of(new TlsOrigination.ClientCertificate(dir.resolve("ca.pem"), key)), true, true);
    TlsOrigination badCa = new TlsOrigination(new TlsOrigination.CaFile(dir.resolve("ca.pem")), Optional.empty(),
        Optional.empty(), true, true);

    assertThatThrownBy(() -> OriginatedTls.load(mutual, Set.of(), "api.partner.example")).isInstanceOf(SSLException.class)
        .hasMessageContaining("clientCertificate " + dir.resolve("ca.pem"));
    assertThatThrownBy(() -> OriginatedTls.load(badCa, Set.of(), "api.partner.example"))
        .hasMessageContaining("caCertificates " + dir.resolve("ca.pem")).hasMessageContaining("no PEM certificate");
    TlsOrigination missingCrl = new TlsOrigination(new TlsOrigination.SystemRoots(), Optional.of(dir.resolve("crl.pem")),
        Optional.empty(), true, true);
    assertThatThrownBy(() -> OriginatedTls.load(missingCrl, Set.of(), ""))
        .hasMessageContaining("cannot read caCrl " + dir.resolve("crl.pem")).hasMessageContaining("NoSuchFileException");
  }
}
