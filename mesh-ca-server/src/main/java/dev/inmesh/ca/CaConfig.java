package dev.inmesh.ca;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How a {@link CertificateAuthority} is set up.
 *
 * @param trustDomain the SPIFFE trust domain of every identity this CA signs, e.g. {@code cluster.local}
 * @param defaultLeafTtl the lifetime of a leaf when the request asks for none (Istio's default: 24 h)
 * @param maxLeafTtl the longest lifetime a request may ask for; longer requests are refused, not shortened
 * @param dataDir the CA's own directory, made private (0700): the generated roots ({@code roots/}, with
 *     {@code root-state} naming the one that signs, and {@code root-cert.pem}, {@code root-key.pem} linking
 *     to it) and the trust bundle ({@code trust-bundle.pem}); see the module's README
 * @param rootFiles a root certificate and key to load instead of generating one in {@code dataDir}
 */
public record CaConfig(
    String trustDomain, Duration defaultLeafTtl, Duration maxLeafTtl, Path dataDir, Optional<RootFiles> rootFiles) {

  /** A CA certificate and its private key, both PEM. */
  public record RootFiles(Path certificate, Path privateKey) {
    public RootFiles {
      Objects.requireNonNull(certificate, "certificate");
      Objects.requireNonNull(privateKey, "privateKey");
    }
  }

  static final Duration DEFAULT_LEAF_TTL = Duration.ofHours(24);
  // a compromised leaf key stays useful until the leaf expires; mesh leaves are meant to be short-lived
  static final Duration LIMIT_LEAF_TTL = Duration.ofDays(90);

  public CaConfig {
    Objects.requireNonNull(trustDomain, "trustDomain");
    Objects.requireNonNull(defaultLeafTtl, "defaultLeafTtl");
    Objects.requireNonNull(maxLeafTtl, "maxLeafTtl");
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(rootFiles, "rootFiles");
    IdentityRules.requireTrustDomain(trustDomain);
    if (defaultLeafTtl.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("defaultLeafTtl must be at least 1s, got " + defaultLeafTtl);
    }
    if (maxLeafTtl.compareTo(defaultLeafTtl) < 0) {
      throw new IllegalArgumentException(
          "maxLeafTtl (" + maxLeafTtl + ") must not be shorter than defaultLeafTtl (" + defaultLeafTtl + ")");
    }
    if (maxLeafTtl.compareTo(LIMIT_LEAF_TTL) > 0) {
      throw new IllegalArgumentException("maxLeafTtl must be at most " + LIMIT_LEAF_TTL + ", got " + maxLeafTtl);
    }
  }

  /** 24 h leaves by default and at most, a root generated in {@code dataDir}. */
  public static CaConfig of(String trustDomain, Path dataDir) {
    return new CaConfig(trustDomain, DEFAULT_LEAF_TTL, DEFAULT_LEAF_TTL, dataDir, Optional.empty());
  }

  public CaConfig withLeafTtl(Duration defaultTtl, Duration maxTtl) {
    return new CaConfig(trustDomain, defaultTtl, maxTtl, dataDir, rootFiles);
  }

  public CaConfig withRootFiles(Path certificate, Path privateKey) {
    return new CaConfig(trustDomain, defaultLeafTtl, maxLeafTtl, dataDir,
        Optional.of(new RootFiles(certificate, privateKey)));
  }
}
