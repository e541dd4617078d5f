package dev.inmesh.control.source;

import static dev.inmesh.control.source.ConfigControllerTest.destinationRule;
import static dev.inmesh.control.source.ConfigControllerTest.virtualService;
import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.ResourceKey;
import dev.inmesh.control.config.networking.VirtualService;
import dev.inmesh.control.source.ConfigController.SourceStatus;
import dev.inmesh.control.store.InMemoryConfigStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigDirectoryTest {
  private static final ResourceKey REVIEWS_VS = new ResourceKey("VirtualService", "default", "reviews");
  private static final ResourceKey RATINGS_DR = new ResourceKey("DestinationRule", "default", "ratings");

  @TempDir
  Path root;

  private final InMemoryConfigStore store = new InMemoryConfigStore();
  private final ConfigController controller = new ConfigController(store, ConfigParser.defaults(),
      Clock.fixed(Instant.parse("2024-05-01T10:15:30Z"), ZoneOffset.UTC));
  private final AtomicInteger notifications = new AtomicInteger();
  private ConfigDirectory directory;

  @BeforeEach
  void watchTheTemporaryDirectory() {
    directory = new ConfigDirectory(root, controller);
    store.addListener(notifications::incrementAndGet);
  }

  private void write(String name, String text) throws IOException {
    Path file = root.resolve(name);
    Files.createDirectories(file.getParent());
    Files.writeString(file, text);
  }

  /** Scans until a change has been read the same twice in a row, as it must be before it applies. */
  private boolean settle() {
    boolean first = directory.scan();
    boolean second = directory.scan();
    return first || second;
  }

  private int v1WeightOfReviews() {
    return store.get(REVIEWS_VS).orElseThrow().spec(VirtualService.class).http().get(0).route().get(0).weight();
  }

  @Test
  void picksUpNewYamlAndYmlFilesIncludingSubdirectories() throws IOException {
    write("reviews.yaml", virtualService("reviews", 90));
    write("team/ratings.yml", destinationRule("ratings"));

    assertThat(settle()).isTrue();

    assertThat(store.list()).extracting(ConfigResource::key).containsExactlyInAnyOrder(REVIEWS_VS, RATINGS_DR);
    assertThat(store.get(RATINGS_DR).orElseThrow().source()).isEqualTo(Path.of("team", "ratings.yml").toString());
    assertThat(store.get(REVIEWS_VS).orElseThrow().source()).isEqualTo("reviews.yaml");
  }

  @Test
  void aScanWithNothingChangedReportsNoChangeAndTouchesNothing() throws IOException {
    write("reviews.yaml", virtualService("reviews", 90));
    settle();
    int before = notifications.get();

    assertThat(directory.scan()).isFalse();
    assertThat(notifications).hasValue(before);
  }

  @Test
  void appliesAChangeOnlyOnceTwoScansInARowReadTheSameContent() throws IOException {
    write("reviews.yaml", virtualService("reviews", 90));

    assertThat(directory.scan()).isFalse();
    assertThat(store.list()).isEmpty();

    write("reviews.yaml", virtualService("reviews", 80));
    assertThat(directory.scan()).as("the content moved since the last scan").isFalse();
    assertThat(store.list()).isEmpty();

    assertThat(directory.scan()).isTrue();
    assertThat(v1WeightOfReviews()).isEqualTo(80);
    assertThat(notifications).hasValue(1);
  }

  @Test
  void picksUpAChangedFile() throws IOException {
    write("reviews.yaml", virtualService("reviews", 90));
    settle();

    write("reviews.yaml", virtualService("reviews", 20));

    assertThat(settle()).isTrue();
    assertThat(v1WeightOfReviews()).isEqualTo(20);
  }

  @Test
  void removesTheResourcesOfADeletedFile() throws IOException {
    write("reviews.yaml", virtualService("reviews", 90));
    write("ratings.yaml", destinationRule("ratings"));
    settle();

    Files.delete(root.resolve("reviews.yaml"));

    assertThat(directory.scan()).as("a file missing once may be being replaced").isFalse();
    assertThat(store.list()).extracting(ConfigResource::key).containsExactlyInAnyOrder(REVIEWS_VS, RATINGS_DR);
    assertThat(directory.scan()).as("missing at two scans in a row: deleted").isTrue();
    assertThat(store.list()).extracting(ConfigResource::key).containsExactly(RATINGS_DR);
  }

  @Test
  void aFileMissingForOneScanOnlyLosesNothing() throws IOException {
    write("reviews.yaml", virtualService("reviews", 90));
    write("ratings.yaml", destinationRule("ratings"));
    settle();
    String text = Files.readString(root.resolve("reviews.yaml"));
    Files.delete(root.resolve("reviews.yaml"));
    directory.scan();

    write("reviews.yaml", text);
    directory.scan();
    directory.scan();

    assertThat(store.list()).extracting(ConfigResource::key).containsExactlyInAnyOrder(REVIEWS_VS, RATINGS_DR);
    assertThat(controller.statuses()).allMatch(SourceStatus::accepted);
  }

  @Test
  void aDirectoryThatVanishesRemovesNothingAndSaysWhy() throws IOException {
    write("reviews.yaml", virtualService("reviews", 90));
    write("ratings.yaml", destinationRule("ratings"));
    settle();
    int before = notifications.get();

    Files.delete(root.resolve("reviews.yaml"));
    Files.delete(root.resolve("ratings.yaml"));
    Files.delete(root);
    for (int i = 0; i < 5; i++) {
      assertThat(directory.scan()).isFalse();
    }

    assertThat(store.list()).extracting(ConfigResource::key).containsExactlyInAnyOrder(REVIEWS_VS, RATINGS_DR);
    assertThat(notifications.get()).isEqualTo(before);
    assertThat(controller.statuses()).filteredOn(status -> !status.accepted()).singleElement()
        .satisfies(status -> assertThat(status.problems().get(0).message()).contains(root.toString()).contains("missing"));
  }

  @Test
  void anEmptiedDirectoryRemovesNothingUntilItIsFilledAgain() throws IOException {
    write("reviews.yaml", virtualService("reviews", 90));
    write("ratings.yaml", destinationRule("ratings"));
    settle();

    // rm -rf config/* && cp -r new/* config/, caught at every step
    Files.delete(root.resolve("reviews.yaml"));
    Files.delete(root.resolve("ratings.yaml"));
    settle();
    assertThat(store.list()).hasSize(2);
    assertThat(controller.statuses()).anySatisfy(status ->
        assertThat(status.problems()).anySatisfy(p -> assertThat(p.message()).contains("no YAML file left")));
    write("ratings.yaml", destinationRule("ratings"));
    directory.scan();
    write("reviews.yaml", virtualService("reviews", 30));
    settle();

    assertThat(store.list()).extracting(ConfigResource::key).containsExactlyInAnyOrder(REVIEWS_VS, RATINGS_DR);
    assertThat(v1WeightOfReviews()).isEqualTo(30);
    assertThat(controller.statuses()).allMatch(SourceStatus::accepted);
  }

  @Test
  void anEmptyYamlFileLeftBehindIsTheDeliberateWayToRemoveEverything() throws IOException {
    write("reviews.yaml", virtualService("reviews", 90));
    settle();

    Files.delete(root.resolve("reviews.yaml"));
    write("empty.yaml", "");
    settle();
    // a file arrived at the first of those scans: removals count from the set holding still
    directory.scan();

    assertThat(store.list()).isEmpty();
  }

  @Test
  void aSlowCopyRemovesNothingWhileFilesKeepArriving() throws IOException {
    write("a.yaml", destinationRule("details"));
    write("ratings.yaml", destinationRule("ratings"));
    write("reviews.yaml", virtualService("reviews", 90));
    settle();

    // rm -rf && cp -r from slow storage: one file a scan, reviews.yaml last
    Files.delete(root.resolve("a.yaml"));
    Files.delete(root.resolve("ratings.yaml"));
    Files.delete(root.resolve("reviews.yaml"));
    write("a.yaml", destinationRule("details"));
    directory.scan();
    write("ratings.yaml", destinationRule("ratings"));
    directory.scan();
    directory.scan();
    assertThat(store.get(REVIEWS_VS)).as("missing at three scans, but files were still arriving").isPresent();
    write("reviews.yaml", virtualService("reviews", 90));
    settle();

    assertThat(store.list()).hasSize(3);
  }

  @Test
  void filesAnotherReplicaReadAreRemovedOnceMissingAtTwoScans() throws IOException {
    write("ratings.yaml", destinationRule("ratings"));
    settle();
    // what a shared store holds from a file this directory no longer has
    controller.applyFile("reviews.yaml", virtualService("reviews", 90));
    directory.adopt(controller.fileSources());

    assertThat(directory.scan()).isFalse();
    assertThat(store.get(REVIEWS_VS)).isPresent();
    assertThat(directory.scan()).isTrue();
    assertThat(store.list()).extracting(ConfigResource::key).containsExactly(RATINGS_DR);
  }

  @Test
  void adoptedFilesSurviveAnEmptyDirectory() throws IOException {
    controller.applyFile("reviews.yaml", virtualService("reviews", 90));
    directory.adopt(controller.fileSources());

    settle();
    settle();

    assertThat(store.get(REVIEWS_VS)).isPresent();
  }

  @Test
  void ignoresOtherExtensionsAndHiddenFiles() throws IOException {
    write("reviews.txt", virtualService("reviews", 90));
    write("reviews.yaml.bak", virtualService("reviews", 90));
    write(".ratings.yaml", destinationRule("ratings"));

    assertThat(settle()).isFalse();
    assertThat(store.list()).isEmpty();
    assertThat(controller.statuses()).isEmpty();
  }

  @Test
  void readsAConfigMapMountOnceIgnoringItsHiddenDataDirectory() throws IOException {
    // The layout kubelet writes: the real files live in a hidden, timestamped directory, reached
    // through the ..data symlink, and each visible name is a symlink into ..data.
    write("..2024_05_01_10_15_30.123/reviews.yaml", virtualService("reviews", 90));
    Files.createSymbolicLink(root.resolve("..data"), Path.of("..2024_05_01_10_15_30.123"));
    Files.createSymbolicLink(root.resolve("reviews.yaml"), Path.of("..data", "reviews.yaml"));

    settle();

    assertThat(store.get(REVIEWS_VS).orElseThrow().source()).isEqualTo("reviews.yaml");
    assertThat(controller.statuses()).extracting(SourceStatus::source).containsExactly("reviews.yaml");
    assertThat(controller.statuses()).allMatch(SourceStatus::accepted);
  }

  @Test
  void acceptsAFileRejectedAsADuplicateOnceTheOtherFileStopsDefiningTheResource() throws IOException {
    write("a.yaml", virtualService("reviews", 90));
    write("b.yaml", virtualService("reviews", 10) + "---\n" + destinationRule("ratings"));
    settle();
    assertThat(store.get(REVIEWS_VS).orElseThrow().source()).isEqualTo("a.yaml");
    assertThat(store.get(RATINGS_DR)).isEmpty();

    write("a.yaml", destinationRule("details"));

    assertThat(settle()).isTrue();
    assertThat(store.get(REVIEWS_VS).orElseThrow().source()).isEqualTo("b.yaml");
    assertThat(v1WeightOfReviews()).isEqualTo(10);
    assertThat(store.get(RATINGS_DR)).isPresent();
    assertThat(controller.statuses()).allMatch(SourceStatus::accepted);
  }

  @Test
  void acceptsAFileRejectedAsADuplicateOnceTheOtherFileIsDeleted() throws IOException {
    write("a.yaml", virtualService("reviews", 90));
    write("b.yaml", virtualService("reviews", 10));
    settle();

    Files.delete(root.resolve("a.yaml"));

    assertThat(settle()).isTrue();
    assertThat(store.get(REVIEWS_VS).orElseThrow().source()).isEqualTo("b.yaml");
    assertThat(controller.statuses()).extracting(SourceStatus::source).containsExactly("b.yaml");
    assertThat(controller.statuses()).allMatch(SourceStatus::accepted);
  }
}
