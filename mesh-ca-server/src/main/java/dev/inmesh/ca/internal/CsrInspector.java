package dev.inmesh.ca.internal;

import dev.inmesh.ca.CaException;
import dev.inmesh.ca.CaException.Reason;
import dev.inmesh.ca.IdentityRules;
import dev.inmesh.identity.SpiffeId;
import java.io.IOException;
import java.security.PublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Map;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/** Turns a PEM CSR into the identity and key to certify, or refuses it naming the broken rule. */
public final class CsrInspector {
  /** What a CSR that passed every check asks for. */
  public record InspectedCsr(SpiffeId identity, PublicKey publicKey) {}

  private static final int MIN_RSA_BITS = 2048;
  private static final Map<ASN1ObjectIdentifier, String> ACCEPTED_CURVES = Map.of(
      SECObjectIdentifiers.secp256r1, "P-256",
      SECObjectIdentifiers.secp384r1, "P-384");

  private CsrInspector() {}

  public static InspectedCsr inspect(String csrPem, String trustDomain) {
    PKCS10CertificationRequest csr = parse(csrPem);
    verifySignature(csr);
    PublicKey key = acceptedKey(csr);
    return new InspectedCsr(identity(csr, trustDomain), key);
  }

  private static PKCS10CertificationRequest parse(String pem) {
    try {
      PKCS10CertificationRequest csr = Pem.decodeCsr(pem);
      if (csr == null) {
        throw new CaException(Reason.MALFORMED_CSR, "the csr is not a PEM CERTIFICATE REQUEST block");
      }
      return csr;
    } catch (IOException | RuntimeException e) {
      if (e instanceof CaException refused) {
        throw refused;
      }
      throw new CaException(Reason.MALFORMED_CSR, "the csr cannot be parsed as PKCS#10: " + e.getMessage(), e);
    }
  }

  private static void verifySignature(PKCS10CertificationRequest csr) {
    boolean valid;
    try {
      valid = csr.isSignatureValid(
          new JcaContentVerifierProviderBuilder().setProvider(Crypto.PROVIDER).build(csr.getSubjectPublicKeyInfo()));
    } catch (Exception e) {
      throw new CaException(Reason.BAD_CSR_SIGNATURE, "the csr's signature cannot be checked: " + e.getMessage(), e);
    }
    if (!valid) {
      throw new CaException(Reason.BAD_CSR_SIGNATURE,
          "the csr's signature does not verify with its public key; it was altered or not signed by the key's owner");
    }
  }

  private static PublicKey acceptedKey(PKCS10CertificationRequest csr) {
    AlgorithmIdentifier algorithm = csr.getSubjectPublicKeyInfo().getAlgorithm();
    PublicKey key;
    try {
      key = new JcaPEMKeyConverter().setProvider(Crypto.PROVIDER).getPublicKey(csr.getSubjectPublicKeyInfo());
    } catch (Exception e) {
      throw new CaException(Reason.WEAK_KEY,
          "the csr's key (" + algorithm.getAlgorithm() + ") is not a supported key type: " + e.getMessage(), e);
    }
    if (algorithm.getAlgorithm().equals(X9ObjectIdentifiers.id_ecPublicKey)) {
      if (!(algorithm.getParameters() instanceof ASN1ObjectIdentifier curve) || !ACCEPTED_CURVES.containsKey(curve)) {
        throw new CaException(Reason.WEAK_KEY, "the csr's EC key is on curve " + algorithm.getParameters()
            + "; only P-256 and P-384 are accepted");
      }
      return key;
    }
    if (algorithm.getAlgorithm().equals(PKCSObjectIdentifiers.rsaEncryption) && key instanceof RSAPublicKey rsa) {
      int bits = rsa.getModulus().bitLength();
      if (bits < MIN_RSA_BITS) {
        throw new CaException(Reason.WEAK_KEY,
            "the csr's RSA key has " + bits + " bits; at least " + MIN_RSA_BITS + " are required");
      }
      return key;
    }
    throw new CaException(Reason.WEAK_KEY, "the csr's key type " + key.getAlgorithm()
        + " is not accepted; use ECDSA P-256 (or P-384, or RSA of 2048 bits or more)");
  }

  private static SpiffeId identity(PKCS10CertificationRequest csr, String trustDomain) {
    String expected = "; the csr must carry exactly one URI SAN spiffe://" + trustDomain + "/ns/<namespace>/sa/<service-account>";
    GeneralNames names = null;
    for (Attribute attribute : csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
      Extensions extensions = Extensions.getInstance(attribute.getAttrValues().getObjectAt(0));
      names = GeneralNames.fromExtensions(extensions, Extension.subjectAlternativeName);
    }
    if (names == null || names.getNames().length == 0) {
      throw new CaException(Reason.BAD_IDENTITY, "the csr has no subjectAltName" + expected);
    }
    if (names.getNames().length != 1 || names.getNames()[0].getTagNo() != GeneralName.uniformResourceIdentifier) {
      throw new CaException(Reason.BAD_IDENTITY,
          "the csr has " + names.getNames().length + " subjectAltName(s) " + describe(names) + expected);
    }
    String uri = names.getNames()[0].getName().toString();
    SpiffeId identity;
    try {
      identity = IdentityRules.parse(uri);
    } catch (IllegalArgumentException e) {
      throw new CaException(Reason.BAD_IDENTITY, e.getMessage() + expected, e);
    }
    if (!identity.trustDomain().equals(trustDomain)) {
      throw new CaException(Reason.BAD_IDENTITY, "the csr asks for " + identity + " in trust domain '"
          + identity.trustDomain() + "', but this CA signs for '" + trustDomain + "'");
    }
    return identity;
  }

  private static String describe(GeneralNames names) {
    StringBuilder out = new StringBuilder("[");
    for (GeneralName name : names.getNames()) {
      if (out.length() > 1) {
        out.append(", ");
      }
      String type = switch (name.getTagNo()) {
        case GeneralName.uniformResourceIdentifier -> "URI:";
        case GeneralName.dNSName -> "DNS:";
        case GeneralName.iPAddress -> "IP:";
        case GeneralName.rfc822Name -> "email:";
        default -> "tag" + name.getTagNo() + ":";
      };
      out.append(type).append(name.getTagNo() == GeneralName.iPAddress ? "…" : name.getName());
    }
    return out.append(']').toString();
  }
}
