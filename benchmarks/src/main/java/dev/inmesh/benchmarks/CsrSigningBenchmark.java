package dev.inmesh.benchmarks;

import java.math.BigInteger;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Provider;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Security;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Date;
import java.util.concurrent.TimeUnit;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * How many P-256 CSRs one core signs per second with JDK 17's SunEC and with BouncyCastle: the
 * figure that decides which provider mesh-ca-server signs with.
 *
 * <ul>
 *   <li>{@code ecdsaSign}: the bare ECDSA P-256 signature over a certificate-sized message;
 *   <li>{@code signCsr}: the CA's whole work per request: verify the CSR's signature, build the
 *       leaf with its extensions, sign it with the intermediate's key.
 * </ul>
 *
 * <p>Both use one thread, so the score is per core.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class CsrSigningBenchmark {
  @Param({"SunEC", "BC"})
  public String provider;

  private Provider signingProvider;
  private KeyPair issuerKeys;
  private PKCS10CertificationRequest csr;
  private X500Name issuer;
  private byte[] message;
  private SecureRandom random;
  private long serial;

  @Setup
  public void setUp() throws Exception {
    signingProvider = provider.equals("BC") ? new BouncyCastleProvider() : Security.getProvider("SunEC");
    random = new SecureRandom();
    // each provider signs with a key of its own, as the CA does with the keys it generates
    KeyPairGenerator issuerGenerator = KeyPairGenerator.getInstance("EC", signingProvider);
    issuerGenerator.initialize(new ECGenParameterSpec("secp256r1"), random);
    issuerKeys = issuerGenerator.generateKeyPair();
    issuer = new X500Name("O=cluster.local,CN=Inmesh Intermediate CA");

    KeyPairGenerator workloadGenerator = KeyPairGenerator.getInstance("EC");
    workloadGenerator.initialize(new ECGenParameterSpec("secp256r1"), random);
    KeyPair workload = workloadGenerator.generateKeyPair();
    ExtensionsGenerator extensions = new ExtensionsGenerator();
    extensions.addExtension(Extension.subjectAlternativeName, true, new GeneralNames(
        new GeneralName(GeneralName.uniformResourceIdentifier, "spiffe://cluster.local/ns/shop/sa/web")));
    csr = new JcaPKCS10CertificationRequestBuilder(new X500Principal(""), workload.getPublic())
        .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
        .build(new JcaContentSignerBuilder("SHA256withECDSA").build(workload.getPrivate()));
    message = new byte[600];
    random.nextBytes(message);
  }

  @Benchmark
  public byte[] ecdsaSign() throws Exception {
    Signature signature = Signature.getInstance("SHA256withECDSA", signingProvider);
    signature.initSign(issuerKeys.getPrivate(), random);
    signature.update(message);
    return signature.sign();
  }

  @Benchmark
  public X509CertificateHolder signCsr() throws Exception {
    // the key is decoded by the provider under test, as the CA decodes each CSR's key
    PublicKey key = KeyFactory.getInstance("EC", signingProvider)
        .generatePublic(new X509EncodedKeySpec(csr.getSubjectPublicKeyInfo().getEncoded()));
    if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(signingProvider).build(key))) {
      throw new IllegalStateException("the CSR does not verify");
    }
    Date now = new Date();
    X509v3CertificateBuilder builder = new X509v3CertificateBuilder(issuer, BigInteger.valueOf(++serial), now,
        new Date(now.getTime() + 86_400_000L), new X500Name(new org.bouncycastle.asn1.x500.RDN[0]),
        csr.getSubjectPublicKeyInfo());
    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
    builder.addExtension(Extension.subjectAlternativeName, true, new GeneralNames(
        new GeneralName(GeneralName.uniformResourceIdentifier, "spiffe://cluster.local/ns/shop/sa/web")));
    return builder.build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(signingProvider)
        .setSecureRandom(random).build(issuerKeys.getPrivate()));
  }
}
