package dev.inmesh.internal.security;

import dev.inmesh.identity.SpiffeId;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.Signature;
import java.util.Base64;

/**
 * A PKCS#10 certificate signing request for a SPIFFE identity: an empty subject, the public key,
 * and the SPIFFE ID as the only URI SAN in an extension request, signed with the private key (which
 * never leaves the process). Only EC keys, signed with SHA256withECDSA.
 */
public final class CertificateRequest {
  private static final String EC_PUBLIC_KEY_ALGORITHM = "1.2.840.10045.4.3.2"; // ecdsa-with-SHA256
  private static final String EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
  private static final String SUBJECT_ALT_NAME = "2.5.29.17";

  private CertificateRequest() {}

  /** The DER encoding of the request. */
  public static byte[] der(KeyPair keys, SpiffeId identity) throws GeneralSecurityException {
    byte[] uriSan = Der.context(6, false, identity.toString().getBytes(StandardCharsets.US_ASCII));
    byte[] sanExtension = Der.sequence(Der.oid(SUBJECT_ALT_NAME), Der.tlv(Der.OCTET_STRING, Der.sequence(uriSan)));
    byte[] attributes = Der.context(0, true,
        Der.sequence(Der.oid(EXTENSION_REQUEST), Der.tlv(Der.SET, Der.sequence(sanExtension))));
    byte[] info = Der.sequence(
        Der.integer(0),
        Der.sequence(), // empty subject: the identity is in the SAN, as Istio's CSRs carry it
        keys.getPublic().getEncoded(),
        attributes);
    Signature signer = Signature.getInstance("SHA256withECDSA");
    signer.initSign(keys.getPrivate());
    signer.update(info);
    byte[] signature = signer.sign();
    return Der.sequence(info, Der.sequence(Der.oid(EC_PUBLIC_KEY_ALGORITHM)), Der.bitString(signature));
  }

  /** The request in PEM, as Istio's CreateCertificate takes it. */
  public static String pem(KeyPair keys, SpiffeId identity) throws GeneralSecurityException {
    String base64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der(keys, identity));
    return "-----BEGIN CERTIFICATE REQUEST-----\n" + base64 + "\n-----END CERTIFICATE REQUEST-----\n";
  }
}
