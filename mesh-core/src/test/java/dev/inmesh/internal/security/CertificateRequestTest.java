package dev.inmesh.internal.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.identity.SpiffeId;
import java.io.StringReader;
import java.security.KeyPair;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.Test;

class CertificateRequestTest {
  @Test
  void aCsrIsValidPkcs10WithTheSpiffeIdAsItsOnlyUriSan() throws Exception {
    KeyPair keys = TestCa.keys();
    SpiffeId identity = new SpiffeId("example.org", "shop", "cart");

    String pem = CertificateRequest.pem(keys, identity);

    assertThat(pem).startsWith("-----BEGIN CERTIFICATE REQUEST-----\n").endsWith("-----END CERTIFICATE REQUEST-----\n");
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      PKCS10CertificationRequest csr = (PKCS10CertificationRequest) parser.readObject();
      assertThat(csr.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider()).build(csr.getSubjectPublicKeyInfo()))).isTrue();
      Extensions extensions = Extensions.getInstance(
          csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)[0].getAttrValues().getObjectAt(0));
      GeneralName[] names = GeneralNames.fromExtensions(extensions, Extension.subjectAlternativeName).getNames();
      assertThat(names).hasSize(1);
      assertThat(names[0].getTagNo()).isEqualTo(GeneralName.uniformResourceIdentifier);
      assertThat(names[0].getName().toString()).isEqualTo("spiffe://example.org/ns/shop/sa/cart");
    }
  }

  @Test
  void spiffeIdsParseOnlyIstiosForm() {
    assertThat(SpiffeId.parse("spiffe://cluster.local/ns/default/sa/reviews"))
        .contains(new SpiffeId("cluster.local", "default", "reviews"));
    assertThat(SpiffeId.parse("spiffe://cluster.local/workload/reviews")).isEmpty();
    assertThat(SpiffeId.parse("https://cluster.local/ns/default/sa/reviews")).isEmpty();
    assertThat(SpiffeId.parse("spiffe://cluster.local/ns/def ault/sa/reviews")).isEmpty();
  }
}
