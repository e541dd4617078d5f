package dev.inmesh.ca.internal;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.ECKey;
import java.security.spec.ECGenParameterSpec;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Key generation and signing for the CA. */
public final class Crypto {
  /**
   * The provider for the CA's own keys and signatures. BouncyCastle signs P-256 several times
   * faster than JDK 17's SunEC (see benchmarks' CsrSigningBenchmark), and signing is the CA's hot
   * path. It is used by reference, never registered, so embedding the CA changes nothing else in
   * the JVM.
   */
  public static final Provider PROVIDER = new BouncyCastleProvider();

  private Crypto() {}

  public static KeyPair newP256KeyPair(SecureRandom random) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC", PROVIDER);
      generator.initialize(new ECGenParameterSpec("secp256r1"), random);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate a P-256 key pair", e);
    }
  }

  /**
   * A P-256 key pair from the JDK's default provider, for keys that JSSE signs handshakes with:
   * JSSE picks its own signature provider, and a JDK key spares it a conversion per handshake.
   */
  public static KeyPair newJdkP256KeyPair(SecureRandom random) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), random);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate a P-256 key pair", e);
    }
  }

  /** SHA-256 with ECDSA or RSA, or SHA-384 for a P-384 key, following the issuer's key. */
  public static String signatureAlgorithm(PrivateKey key) {
    if (key instanceof ECKey ec) {
      return ec.getParams().getCurve().getField().getFieldSize() > 256 ? "SHA384withECDSA" : "SHA256withECDSA";
    }
    if (key.getAlgorithm().equals("RSA")) {
      return "SHA256withRSA";
    }
    throw new IllegalArgumentException("a CA key must be EC or RSA, got " + key.getAlgorithm());
  }

  public static ContentSigner signer(PrivateKey key, SecureRandom random) {
    try {
      return new JcaContentSignerBuilder(signatureAlgorithm(key)).setProvider(PROVIDER).setSecureRandom(random)
          .build(key);
    } catch (OperatorCreationException e) {
      throw new IllegalStateException("cannot sign with a " + key.getAlgorithm() + " key", e);
    }
  }

  /** True when {@code privateKey} signs what {@code publicKey} verifies: a loaded key belongs to its certificate. */
  public static boolean matches(PrivateKey privateKey, PublicKey publicKey, SecureRandom random) {
    try {
      byte[] challenge = new byte[32];
      random.nextBytes(challenge);
      String algorithm = signatureAlgorithm(privateKey);
      Signature signer = Signature.getInstance(algorithm, PROVIDER);
      signer.initSign(privateKey, random);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm, PROVIDER);
      verifier.initVerify(publicKey);
      verifier.update(challenge);
      return verifier.verify(signature);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }
}
