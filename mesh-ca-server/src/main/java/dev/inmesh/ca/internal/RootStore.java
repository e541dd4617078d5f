package dev.inmesh.ca.internal;

import static java.nio.charset.StandardCharsets.US_ASCII;

import dev.inmesh.ca.CaException;
import dev.inmesh.ca.CaException.Reason;
import dev.inmesh.ca.TrustBundle;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA's roots on disk. A crash at any point of a root rotation leaves the root that signed
 * before the interrupted step or the one after it, and never makes a second one:
 *
 * <pre>
 * DIR/                          0700
 *   roots/SERIAL/               one root: root-cert.pem and root-key.pem (0600), written under
 *                               SERIAL.tmp/ and renamed into place whole
 *   root-state                  which root signs (current), which a rotation prepared (next) and
 *                               which it replaced (previous, still trusted until retired; its key is
 *                               gone); each step takes effect by one atomic rename of this file
 *   root-cert.pem, root-key.pem symbolic links to the signing root's files, for tools and replicas
 *   trust-bundle.pem            every trusted root
 * </pre>
 *
 * <p>Every file is written under a temporary name, synced, renamed into place, and its directory
 * synced. A directory under {@code roots/} is a root only while {@code root-state} names it current
 * or next; any other is what an interrupted step left or a replaced root, and its key is
 * overwritten and deleted.
 * When root material exists but {@code root-state} cannot say which root signs, loading fails and
 * names the file: a new root is made only where no complete one ever was.
 *
 * <p>Not thread-safe: the CA calls it under its lock.
 */
public final class RootStore {
  private static final Logger log = LoggerFactory.getLogger(RootStore.class);

  /** A CA certificate with its private key. */
  public record Root(X509Certificate certificate, PrivateKey privateKey) {}

  /**
   * The root that signs, the root a rotation prepared, if any, and the serial number of the root
   * the last activation replaced, if it is not retired yet.
   */
  public record Roots(Root current, Optional<Root> next, Optional<BigInteger> previous) {}

  public static final String ROOT_CERT = "root-cert.pem";
  public static final String ROOT_KEY = "root-key.pem";
  public static final String TRUST_BUNDLE = "trust-bundle.pem";
  public static final String ROOTS = "roots";
  public static final String STATE = "root-state";
  // an earlier version kept its roots as plain files beside the bundle and rotated them with four renames
  private static final String LEGACY_NEXT_CERT = "next-root-cert.pem";
  private static final String LEGACY_NEXT_KEY = "next-root-key.pem";
  private static final Pattern LEGACY_RETIRED = Pattern.compile("retired-[0-9a-f]+-root-(cert|key)\\.pem");
  // a root outlives every intermediate it signs; rotating it is a planned operation, not a surprise
  private static final Duration ROOT_VALIDITY = Duration.ofDays(3650);

  private final Path dataDir;
  private State state; // null until loadOrGenerate

  public RootStore(Path dataDir) {
    this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
  }

  /**
   * Loads the roots that {@code root-state} names, or makes the first root in a directory that
   * holds none; then destroys what interrupted steps and replaced roots left.
   */
  public Roots loadOrGenerate(String trustDomain, Instant now, SecureRandom random) {
    try {
      DurableFiles.createPrivateDirectories(dataDir);
      Path stateFile = dataDir.resolve(STATE);
      // read as Latin-1, which decodes any byte, so that a damaged file fails in parse(), naming the line
      state = Files.exists(stateFile, LinkOption.NOFOLLOW_LINKS)
          ? State.parse(stateFile, Files.readString(stateFile, StandardCharsets.ISO_8859_1))
          : recover(trustDomain, now, random);
      Roots roots = new Roots(loadGeneration(state.current(), now, random),
          state.next().map(serial -> loadGeneration(serial, now, random)),
          state.previous().map(serial -> new BigInteger(serial, 16)));
      removeLeftovers(roots, random);
      DurableFiles.link(dataDir.resolve(ROOT_CERT), generation(state.current(), ROOT_CERT));
      DurableFiles.link(dataDir.resolve(ROOT_KEY), generation(state.current(), ROOT_KEY));
      return roots;
    } catch (IOException e) {
      throw failure("cannot load the root from " + dataDir + ": " + e, e);
    }
  }

  /** Step one of a rotation: a new root beside the current one, then named next in {@code root-state}. */
  public Root prepareNext(String trustDomain, Instant now, SecureRandom random) {
    requireLoaded();
    if (state.next().isPresent()) {
      throw new IllegalStateException("the root " + state.next().get() + " is already prepared");
    }
    try {
      Root next = newRoot(trustDomain, now, random);
      writeState(new State(state.current(), Optional.of(serial(next.certificate())), state.previous()));
      return next;
    } catch (IOException e) {
      throw failure("cannot write the next root into " + dataDir + ": " + e, e);
    }
  }

  /**
   * Step two: {@code root-state} names the prepared root as current and the replaced one as
   * previous, in one rename. Then the replaced root's key is destroyed; its certificate stays in
   * the trust bundle until it is retired.
   */
  public void activateNext() {
    requireLoaded();
    String replaced = state.current();
    String next = state.next().orElseThrow(() -> new IllegalStateException("no root rotation is prepared"));
    try {
      writeState(new State(next, Optional.empty(), Optional.of(replaced)));
    } catch (IOException e) {
      throw failure("cannot make the next root current in " + dataDir + ": " + e, e);
    }
    try {
      DurableFiles.link(dataDir.resolve(ROOT_CERT), generation(next, ROOT_CERT));
      DurableFiles.link(dataDir.resolve(ROOT_KEY), generation(next, ROOT_KEY));
      DurableFiles.destroyDirectory(dataDir.resolve(ROOTS).resolve(replaced), ROOT_KEY);
    } catch (IOException e) {
      // the switch is made; what is left is tidying, and the next load does it
      log.warn("the root {} signs now, but the replaced root {} could not be destroyed yet ({}); the next start will",
          next, replaced, e.toString());
    }
  }

  /** Step three, once the trust bundle no longer holds the previous root: {@code root-state} forgets it. */
  public void forgetPrevious() {
    requireLoaded();
    if (state.previous().isEmpty()) {
      return;
    }
    try {
      writeState(new State(state.current(), state.next(), Optional.empty()));
    } catch (IOException e) {
      throw failure("cannot write " + dataDir.resolve(STATE) + ": " + e, e);
    }
  }

  /** Loads a root from PEM files and checks that it can act as this CA's root. */
  public static Root load(Path certFile, Path keyFile, Instant now, SecureRandom random) {
    List<X509Certificate> certificates;
    PrivateKey key;
    try {
      certificates = Pem.decodeCertificates(Files.readString(certFile, US_ASCII));
      key = Pem.decodePrivateKey(Files.readString(keyFile, US_ASCII));
    } catch (IOException | IllegalArgumentException e) {
      throw failure("cannot read the root from " + certFile + " and " + keyFile + ": " + e.getMessage(), e);
    }
    X509Certificate root = certificates.get(0);
    if (root.getBasicConstraints() < 0) {
      throw failure(certFile + " is not a CA certificate (basicConstraints CA:FALSE)", null);
    }
    if (!root.getSubjectX500Principal().equals(root.getIssuerX500Principal())) {
      throw failure(certFile + " is not self-signed; give a root certificate", null);
    }
    if (!root.getNotAfter().toInstant().isAfter(now)) {
      throw failure(certFile + " expired at " + root.getNotAfter().toInstant(), null);
    }
    if (!Crypto.matches(key, root.getPublicKey(), random)) {
      throw failure(keyFile + " is not the private key of " + certFile, null);
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
      TrustBundle saved = TrustBundle.fromPem(Files.readString(file, US_ASCII));
      return saved.contains(root) ? saved : saved.withRoot(root);
    } catch (IOException | IllegalArgumentException e) {
      throw failure("cannot read the trust bundle " + file + ": " + e.getMessage(), e);
    }
  }

  public void saveBundle(TrustBundle bundle) {
    try {
      DurableFiles.createPrivateDirectories(dataDir);
      DurableFiles.write(dataDir.resolve(TRUST_BUNDLE), bundle.toPem().getBytes(US_ASCII));
    } catch (IOException e) {
      throw failure("cannot write the trust bundle into " + dataDir + ": " + e.getMessage(), e);
    }
  }

  /** No {@code root-state}: a first start, one interrupted before it wrote the file, or an earlier version's layout. */
  private State recover(String trustDomain, Instant now, SecureRandom random) throws IOException {
    if (Files.isRegularFile(dataDir.resolve(ROOT_CERT), LinkOption.NOFOLLOW_LINKS)
        || Files.isRegularFile(dataDir.resolve(ROOT_KEY), LinkOption.NOFOLLOW_LINKS)) {
      return migrate(now, random);
    }
    List<Path> legacy = legacyFiles();
    if (!legacy.isEmpty()) {
      throw failure(dataDir + " holds " + legacy + " but no " + ROOT_CERT + " and " + ROOT_KEY + ": a root rotation"
          + " of an earlier version was interrupted. Put the root that signed back as " + ROOT_CERT + " and " + ROOT_KEY
          + ", or remove these files to make a new root (every workload then needs a new certificate)", null);
    }
    List<String> complete = generations();
    if (complete.size() > 1) {
      throw failure(dataDir.resolve(STATE) + " is missing, and " + dataDir.resolve(ROOTS) + " holds the roots "
          + complete + ": write the signing one into it as 'current=<serial>'. No root is made or picked", null);
    }
    String current;
    if (complete.size() == 1) {
      current = complete.get(0);
      log.warn("{} is missing; the only root, {}, signs (a first start stopped before it wrote the file)",
          dataDir.resolve(STATE), current);
    } else if (Files.isSymbolicLink(dataDir.resolve(ROOT_KEY))) {
      // the links are made only after root-state: a root was here, and its files are gone
      throw failure(dataDir.resolve(STATE) + " is missing, and " + dataDir.resolve(ROOT_KEY) + " links to "
          + Files.readSymbolicLink(dataDir.resolve(ROOT_KEY)) + ", which is not a whole root: restore them from a backup."
          + " A new root would break every mTLS connection in the mesh, so none is made", null);
    } else {
      // what roots/ may hold is an unfinished first root: never complete, so never signed with
      current = serial(newRoot(trustDomain, now, random).certificate());
    }
    State first = new State(current, Optional.empty(), Optional.empty());
    writeState(first);
    return first;
  }

  /** Copies an earlier version's roots into {@code roots/}; the old files are destroyed once {@code root-state} names the copies. */
  private State migrate(Instant now, SecureRandom random) throws IOException {
    Root current = loadPair(dataDir.resolve(ROOT_CERT), dataDir.resolve(ROOT_KEY), now, random)
        .orElseThrow(() -> failure(dataDir + " holds only one of " + ROOT_CERT + " and " + ROOT_KEY
            + "; restore the other. A new root would break every mTLS connection in the mesh, so none is made", null));
    Optional<Root> next = loadPair(dataDir.resolve(LEGACY_NEXT_CERT), dataDir.resolve(LEGACY_NEXT_KEY), now, random);
    if (next.isEmpty() && (Files.exists(dataDir.resolve(LEGACY_NEXT_CERT)) || Files.exists(dataDir.resolve(LEGACY_NEXT_KEY)))) {
      throw failure(dataDir + " holds only one of " + LEGACY_NEXT_CERT + " and " + LEGACY_NEXT_KEY
          + "; restore the other, or remove it to drop the prepared rotation", null);
    }
    Path roots = dataDir.resolve(ROOTS);
    if (Files.exists(roots)) {
      // without root-state, what is here is a copy that an interrupted migration began
      DurableFiles.destroyDirectory(roots, ROOT_KEY);
    }
    writeGeneration(current);
    if (next.isPresent()) {
      writeGeneration(next.get());
    }
    State migrated =
        new State(serial(current.certificate()), next.map(root -> serial(root.certificate())), Optional.empty());
    writeState(migrated);
    log.info("moved the root {} from {} into {}", migrated.current(), dataDir.resolve(ROOT_CERT), roots);
    return migrated;
  }

  private static Optional<Root> loadPair(Path cert, Path key, Instant now, SecureRandom random) {
    return Files.exists(cert) && Files.exists(key) ? Optional.of(load(cert, key, now, random)) : Optional.empty();
  }

  private Root loadGeneration(String serial, Instant now, SecureRandom random) {
    Path dir = dataDir.resolve(ROOTS).resolve(serial);
    Path cert = dir.resolve(ROOT_CERT);
    Path key = dir.resolve(ROOT_KEY);
    if (!Files.isRegularFile(cert) || !Files.isRegularFile(key)) {
      throw failure(dataDir.resolve(STATE) + " names the root " + serial + ", but " + dir + " does not hold "
          + ROOT_CERT + " and " + ROOT_KEY + "; restore them. A new root would break every mTLS connection in the mesh,"
          + " so none is made", null);
    }
    Root root = load(cert, key, now, random);
    if (!serial(root.certificate()).equals(serial)) {
      throw failure(cert + " holds the root " + serial(root.certificate()) + ", not " + serial, null);
    }
    return root;
  }

  /**
   * Destroys what is not a root that {@code root-state} names: unfinished or replaced root
   * directories, temporary files, and an earlier version's key files (after a migration).
   */
  private void removeLeftovers(Roots roots, SecureRandom random) throws IOException {
    for (String name : List.of(ROOT_KEY, LEGACY_NEXT_KEY)) {
      Path legacyKey = dataDir.resolve(name);
      if (Files.isRegularFile(legacyKey, LinkOption.NOFOLLOW_LINKS) && !keyOf(legacyKey, roots, random)) {
        throw failure(legacyKey + " is a file, not the link to the signing root's key, and the key of no root that "
            + dataDir.resolve(STATE) + " names; move it away (a root given as files is loaded with --root-cert and"
            + " --root-key)", null);
      }
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dataDir.resolve(ROOTS))) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (!name.equals(state.current()) && !state.next().equals(Optional.of(name))) {
          log.info("destroying {}: a root that {} does not name", entry, dataDir.resolve(STATE));
          destroy(entry);
        }
      }
    }
    List<Path> leftovers = new ArrayList<>(legacyFiles());
    for (String name : List.of(STATE, TRUST_BUNDLE, ROOT_CERT, ROOT_KEY)) {
      leftovers.add(DurableFiles.temporary(dataDir.resolve(name)));
    }
    for (String name : List.of(ROOT_CERT, ROOT_KEY)) {
      if (Files.isRegularFile(dataDir.resolve(name), LinkOption.NOFOLLOW_LINKS)) {
        leftovers.add(dataDir.resolve(name));
      }
    }
    for (Path leftover : leftovers) {
      if (Files.exists(leftover, LinkOption.NOFOLLOW_LINKS)) {
        destroy(leftover);
      }
    }
    DurableFiles.syncDirectory(dataDir);
  }

  private static boolean keyOf(Path keyFile, Roots roots, SecureRandom random) throws IOException {
    PrivateKey key;
    try {
      key = Pem.decodePrivateKey(Files.readString(keyFile, US_ASCII));
    } catch (IllegalArgumentException e) {
      return false;
    }
    return Crypto.matches(key, roots.current().certificate().getPublicKey(), random)
        || roots.next().filter(next -> Crypto.matches(key, next.certificate().getPublicKey(), random)).isPresent();
  }

  private static void destroy(Path path) throws IOException {
    if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
      DurableFiles.destroyDirectory(path, ROOT_KEY);
    } else {
      DurableFiles.destroy(path);
    }
  }

  private Root newRoot(String trustDomain, Instant now, SecureRandom random) throws IOException {
    KeyPair keys = Crypto.newP256KeyPair(random);
    X509Certificate certificate = new CertificateBuilder(random).root(keys, trustDomain, now, now.plus(ROOT_VALIDITY));
    Root root = new Root(certificate, keys.getPrivate());
    writeGeneration(root);
    return root;
  }

  /** Writes {@code roots/SERIAL.tmp/} and renames it to {@code roots/SERIAL/}: a root directory is whole or absent. */
  private void writeGeneration(Root root) throws IOException {
    Path roots = DurableFiles.createPrivateDirectories(dataDir.resolve(ROOTS));
    Path dir = roots.resolve(serial(root.certificate()));
    Path temporary = DurableFiles.temporary(dir);
    if (Files.exists(temporary, LinkOption.NOFOLLOW_LINKS)) {
      destroy(temporary);
    }
    DurableFiles.createPrivateDirectory(temporary);
    DurableFiles.writeNew(temporary.resolve(ROOT_KEY), Pem.encode(root.privateKey()).getBytes(US_ASCII));
    DurableFiles.writeNew(temporary.resolve(ROOT_CERT), Pem.encode(root.certificate()).getBytes(US_ASCII));
    DurableFiles.syncDirectory(temporary);
    DurableFiles.move(temporary, dir);
  }

  private void writeState(State next) throws IOException {
    DurableFiles.write(dataDir.resolve(STATE), next.text().getBytes(US_ASCII));
    state = next;
  }

  /** The complete root directories under {@code roots/}: renamed into place, so whole. */
  private List<String> generations() throws IOException {
    List<String> names = new ArrayList<>();
    Path roots = dataDir.resolve(ROOTS);
    if (!Files.isDirectory(roots)) {
      return names;
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(roots)) {
      for (Path entry : entries) {
        if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS) && State.SERIAL.matcher(entry.getFileName().toString()).matches()) {
          names.add(entry.getFileName().toString());
        }
      }
    }
    names.sort(null);
    return names;
  }

  /** An earlier version's prepared and retired root files. */
  private List<Path> legacyFiles() throws IOException {
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dataDir)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (name.equals(LEGACY_NEXT_CERT) || name.equals(LEGACY_NEXT_KEY) || LEGACY_RETIRED.matcher(name).matches()) {
          files.add(entry);
        }
      }
    }
    files.sort(null);
    return files;
  }

  /** The relative path of a root's file from the data directory, as the links name it. */
  private Path generation(String serial, String file) {
    return dataDir.getFileSystem().getPath(ROOTS, serial, file);
  }

  private void requireLoaded() {
    if (state == null) {
      throw new IllegalStateException("loadOrGenerate() first");
    }
  }

  private static String serial(X509Certificate certificate) {
    return certificate.getSerialNumber().toString(16);
  }

  private static CaException failure(String message, Exception cause) {
    return new CaException(Reason.CA_FAILURE, message, cause);
  }

  /** What {@code root-state} says: serial numbers in hex, as the directories under {@code roots/} are named. */
  private record State(String current, Optional<String> next, Optional<String> previous) {
    static final Pattern SERIAL = Pattern.compile("[0-9a-f]{1,64}");

    private static final List<String> KEYS = List.of("current", "next", "previous");

    String text() {
      return "# the CA's roots under roots/: 'current' signs, 'next' was prepared by a rotation, 'previous' was\n"
          + "# replaced and is trusted until retired. Replaced by one rename; never edit it while the CA runs.\n"
          + "current=" + current + "\n" + next.map(serial -> "next=" + serial + "\n").orElse("")
          + previous.map(serial -> "previous=" + serial + "\n").orElse("");
    }

    static State parse(Path file, String text) {
      Map<String, String> values = new HashMap<>();
      String[] lines = text.split("\n", -1);
      for (int i = 0; i < lines.length; i++) {
        String line = lines[i].strip();
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        int equals = line.indexOf('=');
        String key = equals < 0 ? line : line.substring(0, equals);
        String value = equals < 0 ? "" : line.substring(equals + 1);
        if (!SERIAL.matcher(value).matches() || !KEYS.contains(key) || values.put(key, value) != null) {
          throw failure(file + " line " + (i + 1) + ": expected one each of current=, next= and previous= and a serial"
              + " number in hex, got '" + line + "'. It says which root signs; restore it rather than delete it", null);
        }
      }
      if (!values.containsKey("current")) {
        throw failure(file + " names no current root ('current=<serial in hex>'). It says which root signs;"
            + " restore it rather than delete it", null);
      }
      if (new HashSet<>(values.values()).size() < values.size()) {
        throw failure(file + " names one root twice: " + values, null);
      }
      return new State(values.get("current"), Optional.ofNullable(values.get("next")),
          Optional.ofNullable(values.get("previous")));
    }
  }
}
