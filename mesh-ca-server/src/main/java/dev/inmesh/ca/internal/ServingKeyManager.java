package dev.inmesh.ca.internal;

import dev.inmesh.ca.CertificateAuthority.ServingCertificate;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Serves the CA's own TLS certificate and replaces it at half-life, so that the servers never
 * present an expired certificate however long they run. Each certificate gets its own alias, so a
 * handshake that chose an alias just before a rotation still finds the key of that alias.
 */
public final class ServingKeyManager extends X509ExtendedKeyManager {
  private final Supplier<ServingCertificate> issuer;
  private final Clock clock;
  private final Map<String, ServingCertificate> byAlias = new ConcurrentHashMap<>();
  private volatile String currentAlias;

  public ServingKeyManager(Supplier<ServingCertificate> issuer, Clock clock) {
    this.issuer = issuer;
    this.clock = clock;
    rotate();
  }

  private synchronized String current() {
    ServingCertificate serving = byAlias.get(currentAlias);
    X509Certificate leaf = serving.chain().get(0);
    Instant start = leaf.getNotBefore().toInstant();
    Instant halfLife = start.plus(Duration.between(start, leaf.getNotAfter().toInstant()).dividedBy(2));
    if (!clock.instant().isBefore(halfLife)) {
      rotate();
    }
    return currentAlias;
  }

  private synchronized void rotate() {
    ServingCertificate next = issuer.get();
    String alias = "mesh-ca-" + next.chain().get(0).getSerialNumber().toString(16);
    String previous = currentAlias;
    byAlias.keySet().removeIf(a -> !a.equals(previous));
    byAlias.put(alias, next);
    currentAlias = alias;
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return chooseServerAlias(keyType, issuers, null);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return keyType != null && keyType.startsWith("EC") ? current() : null;
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return keyType != null && keyType.startsWith("EC") ? new String[] {current()} : null;
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    ServingCertificate serving = byAlias.get(alias);
    return serving == null ? null : serving.chain().toArray(X509Certificate[]::new);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    ServingCertificate serving = byAlias.get(alias);
    return serving == null ? null : serving.privateKey();
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return null;
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return null;
  }
}
