package dev.inmesh.ca.internal;

import dev.inmesh.ca.CaException;
import dev.inmesh.ca.CaException.Reason;
import dev.inmesh.ca.TrustBundle;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * The root and the trust bundle on disk: {@code root-cert.pem}, {@code root-key.pem} (mode 0600)
 * and {@code trust-bundle.pem} in the data directory.
 */
public final class RootStore {
  /** A CA certificate with its private key. */
  public record Root(X509Certificate certificate, PrivateKey privateKey) {}

  public static final String ROOT_CERT = "root-cert.pem";
  public static final String ROOT_KEY = "root-key.pem";
  public static final String TRUST_BUNDLE = "trust-bundle.pem";
  // a root outlives every intermediate it signs; rotating it is a planned operation, not a surprise
  private static final Duration ROOT_VALIDITY = Duration.ofDays(3650);
  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> OWNER_DIR = PosixFilePermissions.fromString("rwx------");

  private final Path dataDir;

  public RootStore(Path dataDir) {
    this.dataDir = dataDir;
  }

  /** Loads the root from the data directory, or generates one there on first start. */
  public Root loadOrGenerate(String trustDomain, Instant now, SecureRandom random) {
    Path cert = dataDir.resolve(ROOT_CERT);
    Path key = dataDir.resolve(ROOT_KEY);
    if (Files.exists(cert) || Files.exists(key)) {
      if (!Files.exists(cert) || !Files.exists(key)) {
        throw new CaException(Reason.CA_FAILURE, "the data directory " + dataDir + " holds only one of " + ROOT_CERT
            + " and " + ROOT_KEY + "; restore the other or remove both to generate a new root");
      }
      return load(cert, key, now, random);
    }
    KeyPair keys = Crypto.newP256KeyPair(random);
    X509Certificate root = new CertificateBuilder(random).root(keys, trustDomain, now, now.plus(ROOT_VALIDITY));
    try {
      Files.createDirectories(dataDir, PosixFilePermissions.asFileAttribute(OWNER_DIR));
      writePrivate(key, Pem.encode(keys.getPrivate()));
      write(cert, Pem.encode(root));
    } catch (IOException | UnsupportedOperationException e) {
      throw new CaException(Reason.CA_FAILURE, "cannot write the new root into " + dataDir + ": " + e.getMessage(), e);
    }
    return new Root(root, keys.getPrivate());
  }

  public static final String NEXT_ROOT_CERT = "next-root-cert.pem";
  public static final String NEXT_ROOT_KEY = "next-root-key.pem";

  /** The root prepared by a rotation that has not been activated yet, if any. */
  public java.util.Optional<Root> loadNext(Instant now, SecureRandom random) {
    Path cert = dataDir.resolve(NEXT_ROOT_CERT);
    Path key = dataDir.resolve(NEXT_ROOT_KEY);
    if (!Files.exists(cert) || !Files.exists(key)) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(load(cert, key, now, random));
  }

  /** Generates the next root beside the current one, for a rotation. */
  public Root generateNext(String trustDomain, Instant now, SecureRandom random) {
    KeyPair keys = Crypto.newP256KeyPair(random);
    X509Certificate root = new CertificateBuilder(random).root(keys, trustDomain, now, now.plus(ROOT_VALIDITY));
    try {
      Files.createDirectories(dataDir, PosixFilePermissions.asFileAttribute(OWNER_DIR));
      Files.deleteIfExists(dataDir.resolve(NEXT_ROOT_KEY));
      writePrivate(dataDir.resolve(NEXT_ROOT_KEY), Pem.encode(keys.getPrivate()));
      write(dataDir.resolve(NEXT_ROOT_CERT), Pem.encode(root));
    } catch (IOException | UnsupportedOperationException e) {
      throw new CaException(Reason.CA_FAILURE, "cannot write the next root into " + dataDir + ": " + e.getMessage(), e);
    }
    return new Root(root, keys.getPrivate());
  }

  /** Makes the next root the root; the old one's files are kept as {@code retired-<serial>-root-*.pem}. */
  public void promoteNext(Root retired) {
    String prefix = "retired-" + retired.certificate().getSerialNumber().toString(16) + "-";
    try {
      Files.move(dataDir.resolve(ROOT_CERT), dataDir.resolve(prefix + ROOT_CERT), StandardCopyOption.REPLACE_EXISTING);
      Files.move(dataDir.resolve(ROOT_KEY), dataDir.resolve(prefix + ROOT_KEY), StandardCopyOption.REPLACE_EXISTING);
      Files.move(dataDir.resolve(NEXT_ROOT_KEY), dataDir.resolve(ROOT_KEY));
      Files.move(dataDir.resolve(NEXT_ROOT_CERT), dataDir.resolve(ROOT_CERT));
    } catch (IOException e) {
      throw new CaException(Reason.CA_FAILURE, "cannot make the next root current in " + dataDir + ": " + e.getMessage(), e);
    }
  }

  /** Loads a root from PEM files and checks that it can act as this CA's root. */
  public static Root load(Path certFile, Path keyFile, Instant now, SecureRandom random) {
    List<X509Certificate> certificates;
    PrivateKey key;
    try {
      certificates = Pem.decodeCertificates(Files.readString(certFile, StandardCharsets.US_ASCII));
      key = Pem.decodePrivateKey(Files.readString(keyFile, StandardCharsets.US_ASCII));
    } catch (IOException | IllegalArgumentException e) {
      throw new CaException(Reason.CA_FAILURE,
          "cannot read the root from " + certFile + " and " + keyFile + ": " + e.getMessage(), e);
    }
    X509Certificate root = certificates.get(0);
    if (root.getBasicConstraints() < 0) {
      throw new CaException(Reason.CA_FAILURE, certFile + " is not a CA certificate (basicConstraints CA:FALSE)");
    }
    if (!root.getSubjectX500Principal().equals(root.getIssuerX500Principal())) {
      throw new CaException(Reason.CA_FAILURE, certFile + " is not self-signed; give a root certificate");
    }
    if (!root.getNotAfter().toInstant().isAfter(now)) {
      throw new CaException(Reason.CA_FAILURE, certFile + " expired at " + root.getNotAfter().toInstant());
    }
    if (!Crypto.matches(key, root.getPublicKey(), random)) {
      throw new CaException(Reason.CA_FAILURE, keyFile + " is not the private key of " + certFile);
    }
    return new Root(root, key);
  }

  /** The saved bundle with {@code root} in it, or a bundle of {@code root} alone. */
  public TrustBundle loadBundle(X509Certificate root) {
    Path file = dataDir.resolve(TRUST_BUNDLE);
    if (!Files.exists(file)) {
      return TrustBundle.of(List.of(root));
    }
    try {
      TrustBundle saved = TrustBundle.fromPem(Files.readString(file, StandardCharsets.US_ASCII));
      return saved.contains(root) ? saved : saved.withRoot(root);
    } catch (IOException | IllegalArgumentException e) {
      throw new CaException(Reason.CA_FAILURE, "cannot read the trust bundle " + file + ": " + e.getMessage(), e);
    }
  }

  public void saveBundle(TrustBundle bundle) {
    try {
      Files.createDirectories(dataDir);
      write(dataDir.resolve(TRUST_BUNDLE), bundle.toPem());
    } catch (IOException e) {
      throw new CaException(Reason.CA_FAILURE, "cannot write the trust bundle into " + dataDir + ": " + e.getMessage(), e);
    }
  }

  // the key file is created with mode 0600 before a byte of the key is written, so it is never readable by others
  private static void writePrivate(Path file, String content) throws IOException {
    Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
    Files.writeString(file, content, StandardCharsets.US_ASCII);
  }

  private static void write(Path file, String content) throws IOException {
    Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(temporary, content, StandardCharsets.US_ASCII);
    try {
      Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
