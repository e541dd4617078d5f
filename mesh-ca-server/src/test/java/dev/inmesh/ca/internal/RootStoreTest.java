package dev.inmesh.ca.internal;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.inmesh.ca.CaException;
import dev.inmesh.ca.internal.RootStore.Root;
import dev.inmesh.ca.internal.RootStore.Roots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The root store at every point where a crash can stop a rotation. Each test leaves the disk as
 * the crash would (the step's effects up to that point, by undoing the rest from copies) and loads.
 */
class RootStoreTest {
  private static final Instant NOW = Instant.parse("2025-03-01T10:00:00Z");
  private static final String TD = "cluster.local";

  @TempDir
  Path temp;

  private final SecureRandom random = new SecureRandom();

  private Path dir() {
    return temp.resolve("data").resolve("ca");
  }

  private Roots load() {
    return new RootStore(dir()).loadOrGenerate(TD, NOW, random);
  }

  private static String serial(Root root) {
    return root.certificate().getSerialNumber().toString(16);
  }

  private Path generation(Root root) {
    return dir().resolve("roots").resolve(serial(root));
  }

  @Test
  void makesTheFirstRootInANewDirectoryThatOnlyItsOwnerCanEnter() throws Exception {
    Roots roots = load();

    assertThat(mode(temp.resolve("data"))).as("a parent it made").isEqualTo("rwx------");
    assertThat(mode(dir())).isEqualTo("rwx------");
    assertThat(mode(dir().resolve("roots"))).isEqualTo("rwx------");
    assertThat(mode(generation(roots.current()))).isEqualTo("rwx------");
    assertThat(mode(generation(roots.current()).resolve("root-key.pem"))).isEqualTo("rw-------");
    assertThat(mode(dir().resolve("root-state"))).isEqualTo("rw-------");
    assertThat(roots.next()).isEmpty();
    assertThat(Files.readString(dir().resolve("root-state"))).contains("current=" + serial(roots.current()));
    assertThat(Files.readSymbolicLink(dir().resolve("root-key.pem")))
        .isEqualTo(Path.of("roots", serial(roots.current()), "root-key.pem"));
    assertThat(RootStore.load(dir().resolve("root-cert.pem"), dir().resolve("root-key.pem"), NOW, random).certificate())
        .as("the links lead to the signing root").isEqualTo(roots.current().certificate());
    assertThat(load().current().certificate()).as("a restart").isEqualTo(roots.current().certificate());
  }

  @Test
  void narrowsAnExistingDirectoryThatOthersCanEnter() throws Exception {
    Files.createDirectories(dir());
    Files.setPosixFilePermissions(dir(), PosixFilePermissions.fromString("rwxr-xr-x"));

    load();

    assertThat(mode(dir())).isEqualTo("rwx------");
  }

  @Test
  void keepsThePreparedRootAcrossARestart() throws Exception {
    RootStore store = new RootStore(dir());
    Root current = store.loadOrGenerate(TD, NOW, random).current();
    Root next = store.prepareNext(TD, NOW, random);

    Roots reloaded = load();

    assertThat(reloaded.current().certificate()).isEqualTo(current.certificate());
    assertThat(reloaded.next().orElseThrow().certificate()).isEqualTo(next.certificate());
    assertThat(keysOnDisk()).containsExactlyInAnyOrder(serial(current), serial(next));
  }

  @Test
  void activationSwitchesTheRootAndDestroysTheReplacedKey() throws Exception {
    RootStore store = new RootStore(dir());
    Root first = store.loadOrGenerate(TD, NOW, random).current();
    Root second = store.prepareNext(TD, NOW, random);

    store.activateNext();

    assertThat(Files.exists(generation(first))).isFalse();
    assertThat(keysOnDisk()).containsExactly(serial(second));
    assertThat(Files.readSymbolicLink(dir().resolve("root-key.pem")))
        .isEqualTo(Path.of("roots", serial(second), "root-key.pem"));
    Roots reloaded = load();
    assertThat(reloaded.current().certificate()).isEqualTo(second.certificate());
    assertThat(reloaded.next()).isEmpty();
    assertThat(reloaded.previous()).as("trusted until retired").contains(first.certificate().getSerialNumber());
  }

  @Test
  void forgetsThePreviousRootOnceItIsRetired() {
    RootStore store = new RootStore(dir());
    store.loadOrGenerate(TD, NOW, random);
    store.prepareNext(TD, NOW, random);
    store.activateNext();

    store.forgetPrevious();

    assertThat(load().previous()).isEmpty();
  }

  @Test
  void aCrashWhilePreparingBeforeTheNewRootIsWholeKeepsTheCurrentRootAndDestroysThePart() throws Exception {
    Root current = load().current();
    Path part = dir().resolve("roots").resolve("7f00.tmp");
    Files.createDirectory(part);
    Files.writeString(part.resolve("root-key.pem"), "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49");

    Roots reloaded = load();

    assertThat(reloaded.current().certificate()).isEqualTo(current.certificate());
    assertThat(reloaded.next()).isEmpty();
    assertThat(Files.exists(part)).isFalse();
  }

  @Test
  void aCrashWhilePreparingBeforeRootStateNamesTheNewRootDestroysIt() throws Exception {
    RootStore store = new RootStore(dir());
    Root current = store.loadOrGenerate(TD, NOW, random).current();
    byte[] stateBefore = Files.readAllBytes(dir().resolve("root-state"));
    Root next = store.prepareNext(TD, NOW, random);
    Files.write(dir().resolve("root-state"), stateBefore);

    Roots reloaded = load();

    assertThat(reloaded.current().certificate()).isEqualTo(current.certificate());
    assertThat(reloaded.next()).isEmpty();
    assertThat(Files.exists(generation(next))).isFalse();
    assertThat(keysOnDisk()).containsExactly(serial(current));
  }

  @Test
  void aCrashWhileActivatingBeforeTheRenameKeepsBothRootsAsTheyWere() throws Exception {
    RootStore store = new RootStore(dir());
    Root current = store.loadOrGenerate(TD, NOW, random).current();
    Root next = store.prepareNext(TD, NOW, random);
    // the new root-state was written and synced, but not renamed over the old one
    Files.writeString(dir().resolve("root-state.tmp"), "current=" + serial(next) + "\n");

    Roots reloaded = load();

    assertThat(reloaded.current().certificate()).isEqualTo(current.certificate());
    assertThat(reloaded.next().orElseThrow().certificate()).isEqualTo(next.certificate());
    assertThat(Files.exists(dir().resolve("root-state.tmp"))).isFalse();
  }

  @Test
  void aCrashWhileActivatingAfterTheRenameSignsWithTheNewRootAndDestroysTheOldKey() throws Exception {
    RootStore store = new RootStore(dir());
    Root old = store.loadOrGenerate(TD, NOW, random).current();
    Root next = store.prepareNext(TD, NOW, random);
    Path saved = copy(generation(old), temp.resolve("saved"));
    store.activateNext();
    // as if the crash came right after the rename: the old root's directory and the links are as they were
    copy(saved, generation(old));
    Files.delete(dir().resolve("root-key.pem"));
    Files.createSymbolicLink(dir().resolve("root-key.pem"), Path.of("roots", serial(old), "root-key.pem"));

    Roots reloaded = load();

    assertThat(reloaded.current().certificate()).isEqualTo(next.certificate());
    assertThat(reloaded.next()).isEmpty();
    assertThat(Files.exists(generation(old))).isFalse();
    assertThat(keysOnDisk()).containsExactly(serial(next));
    assertThat(Files.readSymbolicLink(dir().resolve("root-key.pem")))
        .isEqualTo(Path.of("roots", serial(next), "root-key.pem"));
  }

  @Test
  void aCrashWhileTheOldKeyIsOverwrittenFinishesTheActivation() throws Exception {
    RootStore store = new RootStore(dir());
    Root old = store.loadOrGenerate(TD, NOW, random).current();
    Root next = store.prepareNext(TD, NOW, random);
    long keySize = Files.size(generation(old).resolve("root-key.pem"));
    store.activateNext();
    Files.createDirectory(generation(old));
    Files.write(generation(old).resolve("root-key.pem"), new byte[(int) keySize]);

    Roots reloaded = load();

    assertThat(reloaded.current().certificate()).isEqualTo(next.certificate());
    assertThat(Files.exists(generation(old))).isFalse();
  }

  @Test
  void aFirstStartThatStoppedBeforeRootStateSignsWithTheRootItMade() throws Exception {
    Root made = load().current();
    Files.delete(dir().resolve("root-state"));

    assertThat(load().current().certificate()).isEqualTo(made.certificate());
    assertThat(Files.readString(dir().resolve("root-state"))).contains("current=" + serial(made));
  }

  @Test
  void refusesToStartWhenRootStateNamesARootThatIsGoneAndMakesNoOther() throws Exception {
    Root current = load().current();
    DurableFiles.destroyDirectory(generation(current), "root-key.pem");

    assertThatThrownBy(this::load).isInstanceOf(CaException.class)
        .hasMessageContaining(dir().resolve("root-state").toString())
        .hasMessageContaining(generation(current).toString())
        .hasMessageContaining("none is made");
    assertThat(subdirectories(dir().resolve("roots"))).isEmpty();
  }

  @Test
  void refusesAnUnreadableRootStateAndNamesTheFileAndLine() throws Exception {
    load();
    Files.write(dir().resolve("root-state"), new byte[] {'#', '\n', 'c', 'u', 'r', (byte) 0xff, '\n'});

    assertThatThrownBy(this::load).isInstanceOf(CaException.class)
        .hasMessageContaining(dir().resolve("root-state") + " line 2");
  }

  @Test
  void refusesToMakeARootWhenRootStateAndTheRootsAreGoneButTheLinksRemain() throws Exception {
    load();
    Files.delete(dir().resolve("root-state"));
    DurableFiles.destroyDirectory(dir().resolve("roots"), "root-key.pem");

    assertThatThrownBy(this::load).isInstanceOf(CaException.class)
        .hasMessageContaining(dir().resolve("root-key.pem") + " links to").hasMessageContaining("none is made");
    assertThat(Files.exists(dir().resolve("roots"))).isFalse();
  }

  @Test
  void refusesToPickARootWhenRootStateIsMissingAndTwoRootsExist() throws Exception {
    RootStore store = new RootStore(dir());
    Root current = store.loadOrGenerate(TD, NOW, random).current();
    Root next = store.prepareNext(TD, NOW, random);
    Files.delete(dir().resolve("root-state"));

    assertThatThrownBy(this::load).isInstanceOf(CaException.class)
        .hasMessageContaining("root-state is missing")
        .hasMessageContaining(serial(current)).hasMessageContaining(serial(next));
    assertThat(keysOnDisk()).containsExactlyInAnyOrder(serial(current), serial(next));
  }

  @Test
  void refusesARootDirectoryWhoseKeyIsNotTheRootsKey() throws Exception {
    Root current = load().current();
    Path key = generation(current).resolve("root-key.pem");
    Files.writeString(key, Pem.encode(Crypto.newP256KeyPair(random).getPrivate()));

    assertThatThrownBy(this::load).isInstanceOf(CaException.class)
        .hasMessageContaining(key + " is not the private key of");
  }

  @Test
  void movesAnEarlierVersionsRootsIntoRootsAndDestroysItsKeyFiles() throws Exception {
    Files.createDirectories(dir());
    Root current = legacyRoot("root-cert.pem", "root-key.pem");
    Root next = legacyRoot("next-root-cert.pem", "next-root-key.pem");
    Root retired = legacyRoot("retired-1a2b-root-cert.pem", "retired-1a2b-root-key.pem");

    Roots migrated = load();

    assertThat(migrated.current().certificate()).isEqualTo(current.certificate());
    assertThat(migrated.next().orElseThrow().certificate()).isEqualTo(next.certificate());
    assertThat(keysOnDisk()).containsExactlyInAnyOrder(serial(current), serial(next)).doesNotContain(serial(retired));
    try (Stream<Path> files = Files.list(dir())) {
      assertThat(files.map(f -> f.getFileName().toString()))
          .containsExactlyInAnyOrder("roots", "root-state", "root-cert.pem", "root-key.pem");
    }
    assertThat(Files.isSymbolicLink(dir().resolve("root-key.pem"))).isTrue();
  }

  @Test
  void aMigrationInterruptedAfterRootStateFinishesAndRefusesAForeignKeyFile() throws Exception {
    Files.createDirectories(dir());
    Root current = legacyRoot("root-cert.pem", "root-key.pem");
    byte[] legacyKey = Files.readAllBytes(dir().resolve("root-key.pem"));
    load();
    Files.delete(dir().resolve("root-key.pem"));
    Files.write(dir().resolve("root-key.pem"), legacyKey);

    assertThat(load().current().certificate()).isEqualTo(current.certificate());
    assertThat(Files.isSymbolicLink(dir().resolve("root-key.pem"))).isTrue();

    Files.delete(dir().resolve("root-key.pem"));
    Files.writeString(dir().resolve("root-key.pem"), Pem.encode(Crypto.newP256KeyPair(random).getPrivate()));
    assertThatThrownBy(this::load).isInstanceOf(CaException.class)
        .hasMessageContaining(dir().resolve("root-key.pem") + " is a file, not the link");
  }

  @Test
  void refusesAnEarlierVersionsRotationThatStoppedHalfwayAndMakesNoRoot() throws Exception {
    // the earlier version's promotion, stopped after its second rename: the old root retired, the next not yet moved
    Files.createDirectories(dir());
    legacyRoot("retired-1a2b-root-cert.pem", "retired-1a2b-root-key.pem");
    legacyRoot("next-root-cert.pem", "next-root-key.pem");

    assertThatThrownBy(this::load).isInstanceOf(CaException.class)
        .hasMessageContaining("next-root-key.pem").hasMessageContaining("retired-1a2b-root-key.pem")
        .hasMessageContaining("interrupted");
    assertThat(Files.exists(dir().resolve("roots"))).isFalse();
    assertThat(Files.exists(dir().resolve("root-state"))).isFalse();
  }

  @Test
  void refusesOnlyOneOfAnEarlierVersionsRootFiles() throws Exception {
    Files.createDirectories(dir());
    legacyRoot("root-cert.pem", "root-key.pem");
    Files.delete(dir().resolve("root-cert.pem"));

    assertThatThrownBy(this::load).isInstanceOf(CaException.class)
        .hasMessageContaining("holds only one of root-cert.pem and root-key.pem");
    assertThat(Files.exists(dir().resolve("roots"))).isFalse();
  }

  private Root legacyRoot(String certName, String keyName) throws IOException {
    KeyPair keys = Crypto.newP256KeyPair(random);
    X509Certificate certificate = new CertificateBuilder(random).root(keys, TD, NOW, NOW.plus(Duration.ofDays(365)));
    Files.writeString(dir().resolve(certName), Pem.encode(certificate));
    Files.writeString(dir().resolve(keyName), Pem.encode(keys.getPrivate()));
    return new Root(certificate, keys.getPrivate());
  }

  /** The roots whose private keys are somewhere under the directory, by serial number. */
  private List<String> keysOnDisk() throws IOException {
    try (Stream<Path> files = Files.walk(dir())) {
      return files.filter(file -> Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS))
          .filter(file -> read(file).contains("PRIVATE KEY"))
          .map(file -> file.getParent().getFileName().toString())
          .toList();
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, US_ASCII);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static List<Path> subdirectories(Path dir) throws IOException {
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.filter(Files::isDirectory).toList();
    }
  }

  private static String mode(Path path) throws IOException {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS));
  }

  private static Path copy(Path source, Path target) throws IOException {
    try (Stream<Path> files = Files.walk(source)) {
      for (Path file : files.sorted(Comparator.naturalOrder()).toList()) {
        Files.copy(file, target.resolve(source.relativize(file).toString()));
      }
    }
    return target;
  }
}
