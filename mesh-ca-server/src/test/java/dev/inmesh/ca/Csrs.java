package dev.inmesh.ca;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.List;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Key pairs and PEM CSRs the way a workload makes them, plus the malformed kinds the CA must refuse. */
final class Csrs {
  private Csrs() {}

  static KeyPair ec(String curve) {
    try {
      // JDK 17 dropped secp256k1 from SunEC; BouncyCastle still makes it
      KeyPairGenerator generator = curve.equals("secp256k1")
          ? KeyPairGenerator.getInstance("EC", new org.bouncycastle.jce.provider.BouncyCastleProvider())
          : KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec(curve), seeded(curve));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  static KeyPair p256() {
    return ec("secp256r1");
  }

  static KeyPair rsa(int bits) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
      generator.initialize(bits);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  static String forIdentity(KeyPair keys, String spiffeUri) {
    return withSans(keys, List.of(new GeneralName(GeneralName.uniformResourceIdentifier, spiffeUri)));
  }

  static String withSans(KeyPair keys, List<GeneralName> sans) {
    try {
      JcaPKCS10CertificationRequestBuilder builder =
          new JcaPKCS10CertificationRequestBuilder(new X500Principal(""), keys.getPublic());
      if (!sans.isEmpty()) {
        ExtensionsGenerator extensions = new ExtensionsGenerator();
        extensions.addExtension(Extension.subjectAlternativeName, true,
            new GeneralNames(sans.toArray(GeneralName[]::new)));
        builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
      }
      String algorithm = keys.getPublic().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
      JcaContentSignerBuilder signer = new JcaContentSignerBuilder(algorithm);
      if (keys.getPrivate().getClass().getName().startsWith("org.bouncycastle")) {
        signer.setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider());
      }
      byte[] der = builder.build(signer.build(keys.getPrivate())).getEncoded();
      return pem(der);
    } catch (IOException | org.bouncycastle.operator.OperatorCreationException e) {
      throw new AssertionError(e);
    }
  }

  /** The same CSR with one bit of its signature flipped: still parseable, no longer proof of possession. */
  static String tampered(String csrPem) {
    byte[] der = der(csrPem);
    der[der.length - 1] ^= 0x01;
    return pem(der);
  }

  static byte[] der(String pem) {
    String base64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return Base64.getDecoder().decode(base64);
  }

  private static String pem(byte[] der) {
    return "-----BEGIN CERTIFICATE REQUEST-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END CERTIFICATE REQUEST-----\n";
  }

  static SecureRandom seeded(String seed) {
    try {
      SecureRandom random = SecureRandom.getInstance("SHA1PRNG");
      random.setSeed(seed.getBytes());
      return random;
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }
}
