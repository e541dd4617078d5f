package dev.inmesh.internal.security;

import java.io.IOException;
import java.io.StringReader;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * A small CA for tests: it checks the CSR's signature and copies its extensions into the leaf, as
 * mesh-ca-server does, with validity taken from an injected clock time.
 */
final class TestCa implements CertificateSigner {
  final KeyPair rootKeys = keys();
  final X509Certificate root;
  private final AtomicLong serial = new AtomicLong(1);
  volatile Instant now;
  volatile IOException failNext;
  /** How far notBefore lies before {@link #now}, as a CA backdates for clock skew. */
  volatile Duration backdate = Duration.ZERO;

  TestCa(Instant now) {
    this.now = now;
    try {
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(new X500Name("CN=test root"),
          BigInteger.ONE, Date.from(now.minusSeconds(60)), Date.from(now.plus(Duration.ofDays(3650))),
          new X500Name("CN=test root"), rootKeys.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      root = new JcaX509CertificateConverter().getCertificate(
          builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(rootKeys.getPrivate())));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  PKCS10CertificationRequest lastRequest;

  @Override
  public List<X509Certificate> sign(String csrPem, Duration ttl) throws IOException {
    IOException failure = failNext;
    if (failure != null) {
      failNext = null;
      throw failure;
    }
    try (PEMParser parser = new PEMParser(new StringReader(csrPem))) {
      PKCS10CertificationRequest csr = (PKCS10CertificationRequest) parser.readObject();
      if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider()).build(csr.getSubjectPublicKeyInfo()))) {
        throw new IOException("CSR signature does not verify");
      }
      lastRequest = csr;
      Extensions requested = Extensions.getInstance(
          csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)[0].getAttrValues().getObjectAt(0));
      X509v3CertificateBuilder builder = new X509v3CertificateBuilder(new X500Name("CN=test root"),
          BigInteger.valueOf(serial.incrementAndGet()), Date.from(now.minus(backdate)), Date.from(now.plus(ttl)), new X500Name(""),
          csr.getSubjectPublicKeyInfo())
          .addExtension(Extension.subjectAlternativeName, true, requested.getExtension(Extension.subjectAlternativeName).getParsedValue());
      X509Certificate leaf = new JcaX509CertificateConverter().getCertificate(
          builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(rootKeys.getPrivate())));
      return List.of(leaf, root);
    } catch (IOException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException(e);
    }
  }

  static KeyPair keys() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
