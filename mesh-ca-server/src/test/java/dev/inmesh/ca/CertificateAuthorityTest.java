package dev.inmesh.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.ca.CaException.Reason;
import dev.inmesh.ca.internal.Pem;
import dev.inmesh.testing.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x509.GeneralName;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
  private static final Instant START = Instant.parse("2025-03-01T10:00:00Z");
  private static final String WEB = "spiffe://cluster.local/ns/shop/sa/web";

  @TempDir
  Path dataDir;

  private final MutableClock clock = new MutableClock(START);
  private final List<CaEvent> events = new ArrayList<>();
  private CertificateAuthority ca;

  @BeforeEach
  void startCa() {
    ca = newCa(CaConfig.of("cluster.local", dataDir));
  }

  private CertificateAuthority newCa(CaConfig config) {
    return CertificateAuthority.builder(config).clock(clock).random(Csrs.seeded("ca")).listener(events::add).build();
  }

  private Credential token(String namespace, String serviceAccount) {
    return new Credential.Token(ca.joinTokens().create(namespace, serviceAccount, Duration.ofHours(1)).value());
  }

  private long issued() {
    return events.stream().filter(CaEvent.Issued.class::isInstance).count();
  }

  private CaException refusal(String csr, Duration ttl, Credential credential) {
    long before = issued();
    CaException refused = org.junit.jupiter.api.Assertions.assertThrows(CaException.class,
        () -> ca.sign(csr, ttl, credential));
    assertThat(issued()).as("certificates issued by a refused request").isEqualTo(before);
    assertThat(events.get(events.size() - 1)).isEqualTo(new CaEvent.Refused(refused.reason(), refused.getMessage()));
    return refused;
  }

  @Test
  void issuesASpiffeLeafForAJoinTokenThatVerifiesToTheRoot() throws Exception {
    KeyPair keys = Csrs.p256();
    IssuedCertificate issued = ca.sign(Csrs.forIdentity(keys, WEB), Duration.ZERO, token("shop", "web"));

    X509Certificate leaf = issued.leaf();
    assertThat(issued.identity()).isEqualTo(IdentityRules.parse(WEB));
    assertThat(leaf.getPublicKey()).isEqualTo(keys.getPublic());
    assertThat(leaf.getSubjectAlternativeNames()).containsExactly(List.of(6, WEB));
    assertThat(leaf.getCriticalExtensionOIDs()).contains("2.5.29.17");
    assertThat(leaf.getSubjectX500Principal().getName()).isEmpty();
    assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
    boolean[] usage = leaf.getKeyUsage();
    assertThat(usage[0]).as("digitalSignature").isTrue();
    assertThat(usage[2]).as("keyEncipherment").isFalse();
    assertThat(usage[4]).as("keyAgreement").isTrue();
    assertThat(usage[5]).as("keyCertSign").isFalse();
    assertThat(leaf.getExtendedKeyUsage()).containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
    assertThat(leaf.getNotAfter().toInstant()).isEqualTo(START.plus(Duration.ofHours(24)));
    assertThat(leaf.getNotBefore().toInstant()).isBeforeOrEqualTo(START);
    assertThat(leaf.getSigAlgName()).isEqualTo("SHA256withECDSA");

    assertThat(issued.chain()).hasSize(3);
    assertThat(issued.chain().get(1)).isEqualTo(ca.intermediateCertificate());
    assertThat(issued.chain().get(2)).isEqualTo(ca.rootCertificate());
    PKIXParameters parameters = new PKIXParameters(Set.of(new TrustAnchor(ca.rootCertificate(), null)));
    parameters.setRevocationEnabled(false);
    parameters.setDate(Date.from(START));
    CertPathValidator.getInstance("PKIX").validate(
        CertificateFactory.getInstance("X.509").generateCertPath(issued.chain().subList(0, 2)), parameters);

    assertThat(issued.pemChain()).hasSize(3).allSatisfy(pem -> assertThat(pem).startsWith("-----BEGIN CERTIFICATE-----"));
    assertThat(Pem.decodeCertificates(String.join("", issued.pemChain()))).isEqualTo(issued.chain());
    assertThat(events).filteredOn(CaEvent.Issued.class::isInstance).hasSize(1);
  }

  @Test
  void givesTheRequestedLifetimeWhenItIsWithinTheMaximum() {
    IssuedCertificate issued =
        ca.sign(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ofHours(1), token("shop", "web"));

    assertThat(issued.leaf().getNotAfter().toInstant()).isEqualTo(START.plus(Duration.ofHours(1)));
  }

  @Test
  void signsRsa2048AndP384KeysAndGivesRsaKeyEnciphermentInsteadOfKeyAgreement() {
    IssuedCertificate rsa = ca.sign(Csrs.forIdentity(Csrs.rsa(2048), WEB), Duration.ZERO, token("shop", "web"));
    IssuedCertificate p384 =
        ca.sign(Csrs.forIdentity(Csrs.ec("secp384r1"), WEB), Duration.ZERO, token("shop", "web"));

    assertThat(rsa.leaf().getKeyUsage()[2]).as("keyEncipherment").isTrue();
    assertThat(rsa.leaf().getKeyUsage()[4]).as("keyAgreement").isFalse();
    assertThat(p384.leaf().getPublicKey().getAlgorithm()).isEqualTo("EC");
  }

  @Test
  void refusesALifetimeAboveTheMaximumAndLeavesTheTokenUnspent() {
    Credential token = token("shop", "web");
    String csr = Csrs.forIdentity(Csrs.p256(), WEB);

    CaException refused = refusal(csr, Duration.ofHours(25), token);

    assertThat(refused.reason()).isEqualTo(Reason.BAD_TTL);
    assertThat(refused.reason().kind().httpStatus()).isEqualTo(400);
    assertThat(refused).hasMessageContaining("PT25H").hasMessageContaining("maximum of PT24H");
    assertThat(ca.sign(csr, Duration.ofHours(24), token).identity()).isEqualTo(IdentityRules.parse(WEB));
  }

  @Test
  void refusesANegativeLifetime() {
    assertThat(refusal(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ofSeconds(-1), token("shop", "web")).reason())
        .isEqualTo(Reason.BAD_TTL);
  }

  @Test
  void refusesACsrForAnotherIdentityThanTheTokenIsBoundTo() {
    Credential token = token("shop", "web");

    CaException refused =
        refusal(Csrs.forIdentity(Csrs.p256(), "spiffe://cluster.local/ns/shop/sa/admin"), Duration.ZERO, token);

    assertThat(refused.reason()).isEqualTo(Reason.IDENTITY_MISMATCH);
    assertThat(refused.reason().kind().httpStatus()).isEqualTo(403);
    assertThat(refused).hasMessageContaining(WEB).hasMessageContaining("sa/admin");
  }

  @Test
  void refusesAnUnknownToken() {
    CaException refused = refusal(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO,
        new Credential.Token("inmesh-jt-madeup"));

    assertThat(refused.reason()).isEqualTo(Reason.BAD_TOKEN);
    assertThat(refused.reason().kind().httpStatus()).isEqualTo(401);
  }

  @Test
  void refusesAnExpiredToken() {
    Credential token = token("shop", "web");
    clock.advance(Duration.ofHours(1));

    CaException refused = refusal(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO, token);

    assertThat(refused.reason()).isEqualTo(Reason.EXPIRED_TOKEN);
    assertThat(refused).hasMessageContaining("expired at 2025-03-01T11:00:00Z");
  }

  @Test
  void refusesATokenUsedTwice() {
    Credential token = token("shop", "web");
    ca.sign(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO, token);

    CaException refused = refusal(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO, token);

    assertThat(refused.reason()).isEqualTo(Reason.REUSED_TOKEN);
    assertThat(refused).hasMessageContaining("single use");
  }

  @Test
  void refusesACsrWhoseSignatureDoesNotVerify() {
    CaException refused =
        refusal(Csrs.tampered(Csrs.forIdentity(Csrs.p256(), WEB)), Duration.ZERO, token("shop", "web"));

    assertThat(refused.reason()).isEqualTo(Reason.BAD_CSR_SIGNATURE);
  }

  @Test
  void refusesSomethingThatIsNotACsr() {
    assertThat(refusal("hello", Duration.ZERO, token("shop", "web")).reason()).isEqualTo(Reason.MALFORMED_CSR);
    assertThat(refusal(Pem.encode(ca.rootCertificate()), Duration.ZERO, token("shop", "web")).reason())
        .isEqualTo(Reason.MALFORMED_CSR);
  }

  @Test
  void refusesAnRsaKeyUnder2048Bits() {
    CaException refused = refusal(Csrs.forIdentity(Csrs.rsa(1024), WEB), Duration.ZERO, token("shop", "web"));

    assertThat(refused.reason()).isEqualTo(Reason.WEAK_KEY);
    assertThat(refused).hasMessageContaining("1024 bits");
  }

  @Test
  void refusesEcKeysOnCurvesOtherThanP256AndP384() {
    for (String curve : List.of("secp256k1", "secp521r1")) {
      CaException refused = refusal(Csrs.forIdentity(Csrs.ec(curve), WEB), Duration.ZERO, token("shop", "web"));

      assertThat(refused.reason()).as(curve).isEqualTo(Reason.WEAK_KEY);
      assertThat(refused).hasMessageContaining("only P-256 and P-384");
    }
  }

  @Test
  void refusesCsrsWhoseSansAreNotOneSpiffeIdentityOfThisTrustDomain() {
    KeyPair keys = Csrs.p256();
    List<String> csrs = List.of(
        Csrs.withSans(keys, List.of()),
        Csrs.withSans(keys, List.of(new GeneralName(GeneralName.dNSName, "web.shop.svc"))),
        Csrs.withSans(keys, List.of(new GeneralName(GeneralName.uniformResourceIdentifier, WEB),
            new GeneralName(GeneralName.uniformResourceIdentifier, "spiffe://cluster.local/ns/shop/sa/db"))),
        Csrs.forIdentity(keys, "spiffe://other.domain/ns/shop/sa/web"),
        Csrs.forIdentity(keys, "spiffe://cluster.local/workload/web"),
        Csrs.forIdentity(keys, "https://cluster.local/ns/shop/sa/web"));

    for (String csr : csrs) {
      CaException refused = refusal(csr, Duration.ZERO, token("shop", "web"));
      assertThat(refused.reason()).isEqualTo(Reason.BAD_IDENTITY);
    }
    assertThat(refusal(csrs.get(3), Duration.ZERO, token("shop", "web")))
        .hasMessageContaining("this CA signs for 'cluster.local'");
  }

  @Test
  void refusesARequestWithoutCredential() {
    CaException refused = refusal(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO, Credential.none());

    assertThat(refused.reason()).isEqualTo(Reason.NO_CREDENTIAL);
    assertThat(refused.reason().kind().httpStatus()).isEqualTo(401);
  }

  @Test
  void renewsWithAStillValidCertificateOfTheSameIdentity() {
    IssuedCertificate first = ca.sign(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO, token("shop", "web"));
    clock.advance(Duration.ofHours(12));

    IssuedCertificate renewed = ca.sign(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO,
        new Credential.PeerCertificate(first.chain()));

    assertThat(renewed.leaf().getNotAfter().toInstant()).isEqualTo(START.plus(Duration.ofHours(36)));
    assertThat(events).filteredOn(CaEvent.Issued.class::isInstance).map(e -> ((CaEvent.Issued) e).renewal())
        .containsExactly(false, true);
  }

  @Test
  void refusesRenewalWithAnExpiredCertificate() {
    IssuedCertificate first =
        ca.sign(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ofHours(1), token("shop", "web"));
    clock.advance(Duration.ofHours(2));

    CaException refused = refusal(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO,
        new Credential.PeerCertificate(first.chain()));

    assertThat(refused.reason()).isEqualTo(Reason.UNTRUSTED_CERTIFICATE);
    assertThat(refused).hasMessageContaining("does not verify");
  }

  @Test
  void refusesRenewalForAnotherIdentity() {
    IssuedCertificate web = ca.sign(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO, token("shop", "web"));

    CaException refused = refusal(Csrs.forIdentity(Csrs.p256(), "spiffe://cluster.local/ns/shop/sa/db"),
        Duration.ZERO, new Credential.PeerCertificate(web.chain()));

    assertThat(refused.reason()).isEqualTo(Reason.IDENTITY_MISMATCH);
    assertThat(refused).hasMessageContaining("renews only its own identity");
  }

  @Test
  void refusesRenewalWithACertificateOfAnotherCa(@TempDir Path otherDir) {
    CertificateAuthority other = CertificateAuthority.builder(CaConfig.of("cluster.local", otherDir))
        .clock(clock).random(Csrs.seeded("other")).build();
    IssuedCertificate foreign = other.sign(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO,
        new Credential.Token(other.joinTokens().create("shop", "web", Duration.ofHours(1)).value()));

    CaException refused = refusal(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO,
        new Credential.PeerCertificate(foreign.chain()));

    assertThat(refused.reason()).isEqualTo(Reason.UNTRUSTED_CERTIFICATE);
  }

  @Test
  void writesTheGeneratedRootKeyWithMode0600AndLoadsTheSameRootOnRestart() throws Exception {
    Path key = dataDir.resolve("root-key.pem");

    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
    assertThat(Files.readString(key)).startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(ca.rootCertificate().getBasicConstraints()).isGreaterThanOrEqualTo(0);
    assertThat(ca.rootCertificate().getNotAfter().toInstant()).isAfter(START.plus(Duration.ofDays(3000)));
    assertThat(TrustBundle.fromPem(Files.readString(dataDir.resolve("trust-bundle.pem"))).roots())
        .containsExactly(ca.rootCertificate());

    CertificateAuthority restarted = newCa(CaConfig.of("cluster.local", dataDir));

    assertThat(restarted.rootCertificate()).isEqualTo(ca.rootCertificate());
  }

  @Test
  void loadsTheRootFromPemFilesAndRefusesAKeyOfAnotherCertificate(@TempDir Path elsewhere) throws Exception {
    Path loadedDir = elsewhere.resolve("loaded");
    CertificateAuthority loaded = newCa(CaConfig.of("cluster.local", loadedDir)
        .withRootFiles(dataDir.resolve("root-cert.pem"), dataDir.resolve("root-key.pem")));

    assertThat(loaded.rootCertificate()).isEqualTo(ca.rootCertificate());
    assertThat(Files.exists(loadedDir.resolve("root-key.pem"))).isFalse();
    IssuedCertificate issued = loaded.sign(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO,
        new Credential.Token(loaded.joinTokens().create("shop", "web", Duration.ofHours(1)).value()));
    ca.trustBundle().verify(issued.chain(), START);

    Path otherKey = elsewhere.resolve("other-key.pem");
    Files.writeString(otherKey, Pem.encode(Csrs.p256().getPrivate()));
    assertThatThrownBy(() -> newCa(CaConfig.of("cluster.local", elsewhere.resolve("x"))
        .withRootFiles(dataDir.resolve("root-cert.pem"), otherKey)))
        .isInstanceOf(CaException.class)
        .hasMessageContaining("is not the private key of");
  }

  @Test
  void keepsItsOwnRootInTheTrustBundle() {
    assertThatThrownBy(() -> ca.updateTrustBundle(bundle -> TrustBundle.of(List.of(ca.intermediateCertificate()))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must keep this CA's root");
  }

  @Test
  void replacesTheIntermediateBeforeALeafCouldOutliveIt() {
    X509Certificate first = ca.intermediateCertificate();
    clock.advance(Duration.ofDays(29));

    IssuedCertificate issued = ca.sign(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO, token("shop", "web"));

    assertThat(issued.chain().get(1)).isNotEqualTo(first);
    assertThat(issued.chain().get(1).getNotAfter()).isAfter(issued.leaf().getNotAfter());
    assertThat(events).filteredOn(CaEvent.IntermediateRotated.class::isInstance).hasSize(2);
  }

  @Test
  void aRestartAfterPreparingStoppedBeforeTheBundleWasSavedTrustsThePreparedRoot() throws Exception {
    X509Certificate first = ca.rootCertificate();
    byte[] bundleBefore = Files.readAllBytes(dataDir.resolve("trust-bundle.pem"));
    X509Certificate second = ca.prepareRootRotation();
    Files.write(dataDir.resolve("trust-bundle.pem"), bundleBefore);

    CertificateAuthority restarted = newCa(CaConfig.of("cluster.local", dataDir));

    assertThat(restarted.rootCertificate()).isEqualTo(first);
    assertThat(restarted.trustBundle().roots()).containsExactly(first, second);
    assertThat(TrustBundle.fromPem(Files.readString(dataDir.resolve("trust-bundle.pem"))).roots())
        .containsExactly(first, second);
    assertThat(restarted.activateNextRoot()).isEqualTo(first);
    assertThat(restarted.rootCertificate()).isEqualTo(second);
  }

  @Test
  void retiresThePreviousRootAfterARestart() {
    X509Certificate first = ca.rootCertificate();
    X509Certificate second = ca.prepareRootRotation();
    ca.activateNextRoot();

    CertificateAuthority restarted = newCa(CaConfig.of("cluster.local", dataDir));

    assertThat(restarted.previousRoot()).contains(first);
    assertThat(restarted.retirePreviousRoot().roots()).containsExactly(second);
    assertThat(newCa(CaConfig.of("cluster.local", dataDir)).previousRoot()).isEmpty();
  }

  @Test
  void aRestartAfterRetiringStoppedBeforeTheStoreForgotThePreviousRootHasNoneToRetire() throws Exception {
    X509Certificate second = ca.prepareRootRotation();
    ca.activateNextRoot();
    byte[] stateBefore = Files.readAllBytes(dataDir.resolve("root-state"));
    ca.retirePreviousRoot();
    Files.write(dataDir.resolve("root-state"), stateBefore);

    CertificateAuthority restarted = newCa(CaConfig.of("cluster.local", dataDir));

    assertThat(restarted.previousRoot()).isEmpty();
    assertThat(restarted.trustBundle().roots()).containsExactly(second);
    assertThat(Files.readString(dataDir.resolve("root-state"))).doesNotContain("previous=");
  }

  @Test
  void rotatesTheRootInThreeStepsAndEveryChainCarriesTheTrustedRoots() {
    X509Certificate first = ca.rootCertificate();

    X509Certificate second = ca.prepareRootRotation();
    assertThat(ca.prepareRootRotation()).as("preparing twice keeps one next root").isEqualTo(second);
    assertThat(ca.trustBundle().roots()).containsExactly(first, second);
    IssuedCertificate beforeActivation = ca.sign(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO, token("shop", "web"));
    assertThat(beforeActivation.chain().subList(2, 4)).as("signed under the old root; the new one follows")
        .containsExactly(first, second);
    assertThat(newCa(CaConfig.of("cluster.local", dataDir)).trustBundle().roots())
        .as("a restart keeps the prepared root").containsExactly(first, second);

    assertThat(ca.activateNextRoot()).isEqualTo(first);
    IssuedCertificate afterActivation = ca.sign(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO, token("shop", "web"));
    assertThat(afterActivation.chain().get(1).getIssuerX500Principal()).isEqualTo(second.getSubjectX500Principal());
    assertThat(afterActivation.chain().subList(2, 4)).containsExactly(second, first);
    assertThat(ca.rootCertificate()).isEqualTo(second);
    assertThat(newCa(CaConfig.of("cluster.local", dataDir)).rootCertificate()).as("the new root is on disk").isEqualTo(second);

    ca.retirePreviousRoot();
    assertThat(ca.trustBundle().roots()).containsExactly(second);
    assertThat(ca.sign(Csrs.forIdentity(Csrs.p256(), WEB), Duration.ZERO, token("shop", "web")).chain()).hasSize(3);
    assertThat(events).filteredOn(e -> e instanceof CaEvent.RootAdded || e instanceof CaEvent.RootActivated).hasSize(2);
    org.assertj.core.api.Assertions.assertThatThrownBy(ca::activateNextRoot)
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("prepareRootRotation");
  }
}
