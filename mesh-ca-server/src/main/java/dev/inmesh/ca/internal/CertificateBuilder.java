package dev.inmesh.ca.internal;

import dev.inmesh.identity.SpiffeId;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.time.Instant;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;

/** The four kinds of certificate the CA makes: root, intermediate, SPIFFE leaf, and its own serving certificate. */
public final class CertificateBuilder {
  private final SecureRandom random;

  public CertificateBuilder(SecureRandom random) {
    this.random = random;
  }

  public X509Certificate root(KeyPair keys, String trustDomain, Instant notBefore, Instant notAfter) {
    X500Name name = caName("Inmesh Root CA", trustDomain);
    X509v3CertificateBuilder builder =
        new JcaX509v3CertificateBuilder(name, serial(), Date.from(notBefore), Date.from(notAfter), name, keys.getPublic());
    try {
      JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      builder.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(keys.getPublic()));
    } catch (CertIOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot build the root certificate", e);
    }
    return sign(builder, keys.getPrivate());
  }

  public X509Certificate intermediate(
      PublicKey key, String trustDomain, X509Certificate root, PrivateKey rootKey, Instant notBefore, Instant notAfter) {
    X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(root, serial(), Date.from(notBefore),
        Date.from(notAfter), caName("Inmesh Intermediate CA", trustDomain), key);
    try {
      JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
      // path length 0: the intermediate signs leaves, never another CA
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      builder.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(key));
      builder.addExtension(Extension.authorityKeyIdentifier, false, utils.createAuthorityKeyIdentifier(root));
    } catch (CertIOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot build the intermediate certificate", e);
    }
    return sign(builder, rootKey);
  }

  /**
   * An X.509-SVID: the subject is empty and the only SAN is the SPIFFE URI, so the SAN is critical
   * (RFC 5280 4.2.1.6). An EC key signs (ECDHE handshakes) and agrees keys; an RSA key may also
   * encipher (RSA key exchange).
   */
  public X509Certificate leaf(PublicKey key, SpiffeId identity, X509Certificate issuer, PrivateKey issuerKey,
      Instant notBefore, Instant notAfter) {
    int usage = KeyUsage.digitalSignature | (key instanceof ECKey ? KeyUsage.keyAgreement : KeyUsage.keyEncipherment);
    return endEntity(key, new X500Name(new RDN[0]),
        new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, identity.toString())), usage,
        issuer, issuerKey, notBefore, notAfter);
  }

  /** The CA's TLS server certificate, for the host names and addresses clients dial. */
  public X509Certificate serving(PublicKey key, List<String> dnsNames, List<String> ipAddresses,
      X509Certificate issuer, PrivateKey issuerKey, Instant notBefore, Instant notAfter) {
    return serving(key, dnsNames, ipAddresses, java.util.Optional.empty(), issuer, issuerKey, notBefore, notAfter);
  }

  /** As above, with a SPIFFE ID of the server's own among its names. */
  public X509Certificate serving(PublicKey key, List<String> dnsNames, List<String> ipAddresses,
      java.util.Optional<dev.inmesh.identity.SpiffeId> identity, X509Certificate issuer, PrivateKey issuerKey, Instant notBefore,
      Instant notAfter) {
    GeneralName[] names = new GeneralName[dnsNames.size() + ipAddresses.size() + (identity.isPresent() ? 1 : 0)];
    int i = 0;
    if (identity.isPresent()) {
      names[i++] = new GeneralName(GeneralName.uniformResourceIdentifier, identity.get().toString());
    }
    for (String dns : dnsNames) {
      names[i++] = new GeneralName(GeneralName.dNSName, dns);
    }
    for (String ip : ipAddresses) {
      names[i++] = new GeneralName(GeneralName.iPAddress, ip);
    }
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, "mesh-ca-server").build();
    return endEntity(key, subject, new GeneralNames(names), KeyUsage.digitalSignature | KeyUsage.keyAgreement,
        issuer, issuerKey, notBefore, notAfter);
  }

  private X509Certificate endEntity(PublicKey key, X500Name subject, GeneralNames sans, int keyUsage,
      X509Certificate issuer, PrivateKey issuerKey, Instant notBefore, Instant notAfter) {
    X509v3CertificateBuilder builder =
        new JcaX509v3CertificateBuilder(issuer, serial(), Date.from(notBefore), Date.from(notAfter), subject, key);
    try {
      JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
      builder.addExtension(Extension.extendedKeyUsage, false,
          new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      builder.addExtension(Extension.subjectAlternativeName, subject.getRDNs().length == 0, sans);
      builder.addExtension(Extension.authorityKeyIdentifier, false, utils.createAuthorityKeyIdentifier(issuer));
      builder.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(key));
    } catch (CertIOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot build a certificate for " + sans, e);
    }
    return sign(builder, issuerKey);
  }

  private X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key) {
    try {
      // converted by the JDK's own CertificateFactory, so callers see ordinary X509Certificates
      return new JcaX509CertificateConverter().getCertificate(builder.build(Crypto.signer(key, random)));
    } catch (CertificateException e) {
      throw new IllegalStateException("BouncyCastle produced a certificate the JDK cannot read", e);
    }
  }

  private X500Name caName(String commonName, String trustDomain) {
    // a random suffix tells two roots of one trust domain apart while they share a bundle during rotation
    byte[] suffix = new byte[4];
    random.nextBytes(suffix);
    return new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, trustDomain)
        .addRDN(BCStyle.CN, commonName + " " + HexFormat.of().formatHex(suffix))
        .build();
  }

  /** 159 random bits: positive, unique in practice, within RFC 5280's 20 octets. */
  private BigInteger serial() {
    return new BigInteger(159, random).setBit(0);
  }
}
