package dev.inmesh.internal.security;

import dev.inmesh.internal.model.TlsOrigination;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CRL;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The TLS context of a connection a client originates ({@link TlsOrigination}), transport-neutral:
 * reads the files on this machine and checks the server as Envoy does for a DestinationRule's
 * SIMPLE or MUTUAL mode. The chain must lead to the CA file's certificates (or the JVM's default
 * trust store), no certificate of it may be listed in the CRL file, and the server's certificate
 * must carry one of the configured subject alternative names, or else, with auto SAN validation,
 * name the host sent as SNI (wildcards as in HTTPS). {@code insecureSkipVerify} checks nothing.
 * A file that is missing or unreadable fails the connection, naming the Istio field and the file.
 */
public final class OriginatedTls {
  /** The SSL context to connect with and the trust manager inside it (OkHttp wants both). */
  public record Context(SSLContext sslContext, X509TrustManager trustManager) {}

  private OriginatedTls() {}

  /**
   * @param subjectAltNames the names the server's certificate must carry one of; empty for none required
   * @param serverName the host sent as SNI, empty for none
   */
  public static Context load(TlsOrigination origination, Set<String> subjectAltNames, String serverName) throws SSLException {
    X509TrustManager trust;
    if (origination.trust() instanceof TlsOrigination.CaFile ca) {
      trust = checking(pkix(caStore(ca.file())), origination, subjectAltNames, serverName);
    } else if (origination.trust() instanceof TlsOrigination.SystemRoots) {
      trust = checking(pkix(null), origination, subjectAltNames, serverName);
    } else {
      trust = new Checking(null, List.of(), Set.of(), "", false);
    }
    KeyManager[] keys = null;
    if (origination.clientCertificate().isPresent()) {
      keys = keyManagers(origination.clientCertificate().get());
    }
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys, new TrustManager[] {trust}, null);
      return new Context(context, trust);
    } catch (GeneralSecurityException e) {
      throw new SSLException("TLS origination: cannot set up TLS: " + e.getMessage(), e);
    }
  }

  /** What changes when one of the files changes: their paths and last-modified times. */
  public static List<Object> fileStamps(TlsOrigination origination) {
    List<Object> stamps = new ArrayList<>();
    if (origination.trust() instanceof TlsOrigination.CaFile ca) {
      stamps.add(stamp(ca.file()));
    }
    origination.crl().ifPresent(file -> stamps.add(stamp(file)));
    origination.clientCertificate().ifPresent(pair -> {
      stamps.add(stamp(pair.certificateChain()));
      stamps.add(stamp(pair.privateKey()));
    });
    return stamps;
  }

  private static String stamp(Path file) {
    try {
      return file + "@" + Files.getLastModifiedTime(file).toMillis();
    } catch (IOException e) {
      return file + "@missing";
    }
  }

  private static X509TrustManager checking(X509TrustManager chain, TlsOrigination origination, Set<String> subjectAltNames,
      String serverName) throws SSLException {
    List<X509CRL> crls = new ArrayList<>();
    if (origination.crl().isPresent()) {
      Path file = origination.crl().get();
      try {
        for (CRL crl : factory().generateCRLs(new ByteArrayInputStream(read("caCrl", file)))) {
          crls.add((X509CRL) crl);
        }
      } catch (GeneralSecurityException e) {
        throw new SSLException("TLS origination: caCrl " + file + " holds no PEM CRL: " + e.getMessage(), e);
      }
      if (crls.isEmpty()) {
        throw new SSLException("TLS origination: caCrl " + file + " holds no PEM CRL");
      }
    }
    return new Checking(chain, crls, subjectAltNames, serverName, origination.autoSanValidation());
  }

  private static KeyStore caStore(Path file) throws SSLException {
    List<X509Certificate> certificates = certificates("caCertificates", file);
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < certificates.size(); i++) {
        store.setCertificateEntry("ca-" + i, certificates.get(i));
      }
      return store;
    } catch (GeneralSecurityException | IOException e) {
      throw new SSLException("TLS origination: cannot trust caCertificates " + file + ": " + e.getMessage(), e);
    }
  }

  /** The JDK's PKIX trust manager over {@code store}, or over the JVM's default trust store when null. */
  private static X509TrustManager pkix(KeyStore store) throws SSLException {
    try {
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(store);
      for (TrustManager manager : factory.getTrustManagers()) {
        if (manager instanceof X509TrustManager x509) {
          return x509;
        }
      }
      throw new SSLException("TLS origination: the JDK offers no X509TrustManager");
    } catch (GeneralSecurityException e) {
      throw new SSLException("TLS origination: cannot load the trust store: " + e.getMessage(), e);
    }
  }

  private static KeyManager[] keyManagers(TlsOrigination.ClientCertificate pair) throws SSLException {
    List<X509Certificate> chain = certificates("clientCertificate", pair.certificateChain());
    PrivateKey key = privateKey(pair.privateKey());
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      char[] password = new char[0];
      store.setKeyEntry("client", key, password, chain.toArray(new Certificate[0]));
      KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      factory.init(store, password);
      return factory.getKeyManagers();
    } catch (GeneralSecurityException | IOException e) {
      throw new SSLException("TLS origination: privateKey " + pair.privateKey() + " does not go with clientCertificate "
          + pair.certificateChain() + ": " + e.getMessage(), e);
    }
  }

  private static List<X509Certificate> certificates(String field, Path file) throws SSLException {
    byte[] pem = read(field, file);
    try {
      Collection<? extends Certificate> parsed = factory().generateCertificates(new ByteArrayInputStream(pem));
      List<X509Certificate> certificates = new ArrayList<>();
      parsed.forEach(c -> certificates.add((X509Certificate) c));
      if (certificates.isEmpty()) {
        throw new SSLException("TLS origination: " + field + " " + file + " holds no PEM certificate");
      }
      return certificates;
    } catch (CertificateException e) {
      throw new SSLException("TLS origination: " + field + " " + file + " holds no PEM certificate: " + e.getMessage(), e);
    }
  }

  private static PrivateKey privateKey(Path file) throws SSLException {
    String pem = new String(read("privateKey", file), StandardCharsets.US_ASCII);
    String begin = "-----BEGIN PRIVATE KEY-----";
    int start = pem.indexOf(begin);
    int end = pem.indexOf("-----END PRIVATE KEY-----");
    if (start < 0 || end < start) {
      throw new SSLException("TLS origination: privateKey " + file + " is not a PKCS#8 PEM key (BEGIN PRIVATE KEY);"
          + " convert it with: openssl pkcs8 -topk8 -nocrypt -in " + file.getFileName());
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(pem.substring(start + begin.length(), end));
    } catch (IllegalArgumentException e) {
      throw new SSLException("TLS origination: privateKey " + file + " is not valid base64: " + e.getMessage(), e);
    }
    for (String algorithm : List.of("EC", "RSA", "Ed25519", "Ed448")) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        // the next algorithm
      }
    }
    throw new SSLException("TLS origination: privateKey " + file + " is no EC, RSA or EdDSA key");
  }

  private static byte[] read(String field, Path file) throws SSLException {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new SSLException("TLS origination: cannot read " + field + " " + file + " on this machine: "
          + e.getClass().getSimpleName() + (e.getMessage() == null || e.getMessage().equals(file.toString()) ? "" : ": "
          + e.getMessage()), e);
    }
  }

  private static CertificateFactory factory() throws CertificateException {
    return CertificateFactory.getInstance("X.509");
  }

  /** The chain check, then the CRL, then the names. With no chain check ({@code insecureSkipVerify}), nothing. */
  private record Checking(X509TrustManager chain, List<X509CRL> crls, Set<String> subjectAltNames, String serverName,
      boolean autoSanValidation) implements X509TrustManager {
    @Override
    public void checkServerTrusted(X509Certificate[] certificates, String authType) throws CertificateException {
      if (chain == null) {
        return;
      }
      chain.checkServerTrusted(certificates, authType);
      for (X509Certificate certificate : certificates) {
        for (X509CRL crl : crls) {
          if (crl.getIssuerX500Principal().equals(certificate.getIssuerX500Principal()) && crl.isRevoked(certificate)) {
            throw new CertificateException("the server's certificate " + certificate.getSubjectX500Principal()
                + " (serial " + certificate.getSerialNumber().toString(16) + ") is revoked by caCrl");
          }
        }
      }
      X509Certificate leaf = certificates[0];
      Set<String> names = names(leaf);
      if (!subjectAltNames.isEmpty()) {
        if (names.stream().noneMatch(subjectAltNames::contains)) {
          throw new CertificateException("the server's certificate names " + names + ", none of subjectAltNames "
              + new TreeSet<>(subjectAltNames));
        }
      } else if (autoSanValidation) {
        if (serverName.isEmpty()) {
          throw new CertificateException("auto SAN validation has no host name to check the server's certificate against");
        }
        if (!namesHost(leaf, serverName)) {
          throw new CertificateException("the server's certificate names " + names + ", not the host " + serverName);
        }
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] certificates, String authType) throws CertificateException {
      throw new CertificateException("a client's TLS origination trusts no clients");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return chain == null ? new X509Certificate[0] : chain.getAcceptedIssuers();
    }
  }

  /** Every subject alternative name of a type Envoy matches: DNS, URI, IP address, e-mail. */
  private static Set<String> names(X509Certificate certificate) throws CertificateException {
    Set<String> names = new TreeSet<>();
    Collection<List<?>> entries = certificate.getSubjectAlternativeNames();
    if (entries != null) {
      for (List<?> entry : entries) {
        int type = (Integer) entry.get(0);
        if (type == 1 || type == 2 || type == 6 || type == 7) {
          names.add(String.valueOf(entry.get(1)));
        }
      }
    }
    return names;
  }

  /** Whether the certificate names {@code host}: a DNS name (a leading {@code *.} covers one label), or an IP address. */
  static boolean namesHost(X509Certificate certificate, String host) throws CertificateException {
    Collection<List<?>> entries = certificate.getSubjectAlternativeNames();
    if (entries == null) {
      return false;
    }
    String wanted = host.toLowerCase(Locale.ROOT);
    Optional<InetAddress> address = ipLiteral(wanted);
    for (List<?> entry : entries) {
      int type = (Integer) entry.get(0);
      String name = String.valueOf(entry.get(1)).toLowerCase(Locale.ROOT);
      if (type == 7 && address.isPresent() && ipLiteral(name).equals(address)) {
        return true;
      }
      if (type == 2 && address.isEmpty() && dnsMatches(name, wanted)) {
        return true;
      }
    }
    return false;
  }

  static boolean dnsMatches(String pattern, String host) {
    if (!pattern.startsWith("*.")) {
      return pattern.equals(host);
    }
    int dot = host.indexOf('.');
    return dot > 0 && host.substring(dot).equals(pattern.substring(1));
  }

  private static Optional<InetAddress> ipLiteral(String value) {
    if (!value.matches("[0-9.]+|[0-9a-f:.]*:[0-9a-f:.]*")) {
      return Optional.empty();
    }
    try {
      return Optional.of(InetAddress.getByName(value));
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
