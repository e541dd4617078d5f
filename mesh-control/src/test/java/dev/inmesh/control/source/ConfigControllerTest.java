package dev.inmesh.control.source;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.ResourceKey;
import dev.inmesh.control.config.networking.VirtualService;
import dev.inmesh.control.source.ConfigController.SourceStatus;
import dev.inmesh.control.store.InMemoryConfigStore;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ConfigControllerTest {
  private static final Instant NOW = Instant.parse("2024-05-01T10:15:30Z");
  private static final ResourceKey REVIEWS_VS = new ResourceKey("VirtualService", "default", "reviews");
  private static final ResourceKey REVIEWS_DR = new ResourceKey("DestinationRule", "default", "reviews");

  private final InMemoryConfigStore store = new InMemoryConfigStore();
  private final ConfigController controller =
      new ConfigController(store, ConfigParser.defaults(), Clock.fixed(NOW, ZoneOffset.UTC));
  private final AtomicInteger notifications = new AtomicInteger();

  @BeforeEach
  void countNotifications() {
    store.addListener(notifications::incrementAndGet);
  }

  static String virtualService(String name, int v1Weight) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: %s
        spec:
          hosts: [%s]
          http:
          - route:
            - destination: {host: %s, subset: v1}
              weight: %d
            - destination: {host: %s, subset: v2}
              weight: %d
        """.formatted(name, name, name, v1Weight, name, 100 - v1Weight);
  }

  static String destinationRule(String name) {
    return """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: %s
        spec:
          host: %s
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
        """.formatted(name, name);
  }

  private static String both() {
    return virtualService("reviews", 90) + "---\n" + destinationRule("reviews");
  }

  private int v1WeightOfReviews() {
    return store.get(REVIEWS_VS).orElseThrow().spec(VirtualService.class).http().get(0).route().get(0).weight();
  }

  private SourceStatus statusOf(String source) {
    return controller.statuses().stream().filter(s -> s.source().equals(source)).findFirst().orElseThrow();
  }

  @Test
  void storesTheResourcesOfAValidFile() {
    ApplyResult result = controller.applyFile("reviews.yaml", both());

    assertThat(result.accepted()).isTrue();
    assertThat(result.changed()).containsExactlyInAnyOrder(REVIEWS_VS, REVIEWS_DR);
    assertThat(store.list()).extracting(ConfigResource::key).containsExactlyInAnyOrder(REVIEWS_VS, REVIEWS_DR);
    assertThat(store.list()).extracting(ConfigResource::source).containsOnly("reviews.yaml");
    assertThat(v1WeightOfReviews()).isEqualTo(90);
    SourceStatus status = statusOf("reviews.yaml");
    assertThat(status.accepted()).isTrue();
    assertThat(status.at()).isEqualTo(NOW);
  }

  @Test
  void aFileWithAnErrorChangesNothingAndKeepsTheLastGoodResources() {
    controller.applyFile("reviews.yaml", virtualService("reviews", 90));

    ApplyResult result = controller.applyFile("reviews.yaml",
        virtualService("reviews", 150) + "---\n" + destinationRule("reviews"));

    assertThat(result.accepted()).isFalse();
    assertThat(result.changed()).isEmpty();
    assertThat(store.list()).extracting(ConfigResource::key).containsExactly(REVIEWS_VS);
    assertThat(v1WeightOfReviews()).isEqualTo(90);
    SourceStatus status = statusOf("reviews.yaml");
    assertThat(status.accepted()).isFalse();
    assertThat(status.at()).isEqualTo(NOW);
    assertThat(status.problems()).filteredOn(Problem::isError).extracting(Problem::field)
        .contains("spec.http[0].route[0].weight");
    assertThat(status.problems()).isEqualTo(result.problems());
  }

  @Test
  void reapplyingAFileThatDropsAResourceRemovesIt() {
    controller.applyFile("reviews.yaml", both());

    ApplyResult result = controller.applyFile("reviews.yaml", virtualService("reviews", 60));

    assertThat(result.accepted()).isTrue();
    assertThat(result.changed()).contains(REVIEWS_DR);
    assertThat(store.get(REVIEWS_DR)).isEmpty();
    assertThat(v1WeightOfReviews()).isEqualTo(60);
  }

  @Test
  void removingAFileRemovesItsResourcesAndOnlyThose() {
    controller.applyFile("reviews.yaml", both());
    controller.applyFile("ratings.yaml", destinationRule("ratings"));

    controller.removeFile("reviews.yaml");

    assertThat(store.list()).extracting(ConfigResource::key)
        .containsExactly(new ResourceKey("DestinationRule", "default", "ratings"));
    assertThat(controller.statuses()).extracting(SourceStatus::source).containsExactly("ratings.yaml");
  }

  @Test
  void rejectsAResourceThatAnotherFileAlreadyDefinesAndNamesThatFile() {
    controller.applyFile("a.yaml", virtualService("reviews", 90));

    ApplyResult result = controller.applyFile("b.yaml", virtualService("reviews", 10) + "---\n" + destinationRule("reviews"));

    assertThat(result.accepted()).isFalse();
    assertThat(result.errors()).hasSize(1);
    assertThat(result.errors().get(0).resource()).isEqualTo(REVIEWS_VS.toString());
    assertThat(result.errors().get(0).message()).contains("a.yaml");
    assertThat(store.get(REVIEWS_VS).orElseThrow().source()).isEqualTo("a.yaml");
    assertThat(store.get(REVIEWS_DR)).as("nothing of a rejected file is stored").isEmpty();
    assertThat(v1WeightOfReviews()).isEqualTo(90);
    assertThat(statusOf("b.yaml").accepted()).isFalse();
    assertThat(statusOf("a.yaml").accepted()).isTrue();
  }

  @Test
  void theApiMayNotOverwriteAFileOwnedResource() {
    controller.applyFile("reviews.yaml", virtualService("reviews", 90));

    ApplyResult result = controller.apply("request-1", virtualService("reviews", 20));

    assertThat(result.accepted()).isFalse();
    assertThat(result.errors()).extracting(Problem::message).anySatisfy(m -> assertThat(m).contains("reviews.yaml"));
    assertThat(store.get(REVIEWS_VS).orElseThrow().source()).isEqualTo("reviews.yaml");
    assertThat(v1WeightOfReviews()).isEqualTo(90);
  }

  @Test
  void theApiMayNotDeleteAFileOwnedResource() {
    controller.applyFile("reviews.yaml", virtualService("reviews", 90));

    ApplyResult result = controller.delete("request-2", List.of(REVIEWS_VS));

    assertThat(result.accepted()).isFalse();
    assertThat(result.errors()).hasSize(1);
    assertThat(result.errors().get(0).message()).contains("reviews.yaml");
    assertThat(store.get(REVIEWS_VS)).isPresent();
  }

  @Test
  void anApiAppliedResourceCanBeReplacedAndDeleted() {
    ApplyResult applied = controller.apply("request-1", virtualService("reviews", 30));
    ApplyResult replaced = controller.apply("request-2", virtualService("reviews", 40));

    assertThat(applied.accepted()).isTrue();
    assertThat(replaced.accepted()).isTrue();
    assertThat(store.get(REVIEWS_VS).orElseThrow().source()).isEqualTo(ConfigController.API_SOURCE);
    assertThat(controller.apiResources()).extracting(ConfigResource::key).containsExactly(REVIEWS_VS);
    assertThat(v1WeightOfReviews()).isEqualTo(40);

    ApplyResult deleted = controller.delete("request-3", List.of(REVIEWS_VS));

    assertThat(deleted.accepted()).isTrue();
    assertThat(deleted.changed()).containsExactly(REVIEWS_VS);
    assertThat(store.get(REVIEWS_VS)).isEmpty();
  }

  @Test
  void deletingAResourceThatDoesNotExistIsRejected() {
    ApplyResult result = controller.delete("request-1", List.of(REVIEWS_VS));

    assertThat(result.accepted()).isFalse();
    assertThat(result.errors()).extracting(Problem::message).containsExactly("not found");
  }

  @Test
  void aFileMayNotTakeOverAResourceTheApiApplied() {
    controller.apply("request-1", virtualService("reviews", 30));

    ApplyResult result = controller.applyFile("reviews.yaml", virtualService("reviews", 90));

    assertThat(result.accepted()).isFalse();
    assertThat(result.errors().get(0).message()).contains("through the API");
    assertThat(v1WeightOfReviews()).isEqualTo(30);
  }

  @Test
  void notifiesListenersOncePerAcceptedChangeAndNeverForARejectedOne() {
    controller.applyFile("reviews.yaml", both());
    assertThat(notifications).hasValue(1);

    controller.applyFile("reviews.yaml", virtualService("reviews", 150));
    controller.applyFile("other.yaml", destinationRule("reviews"));
    controller.apply("request-1", virtualService("reviews", 50));
    controller.delete("request-2", List.of(REVIEWS_DR));
    assertThat(notifications).as("rejected changes").hasValue(1);

    controller.applyFile("reviews.yaml", virtualService("reviews", 70));
    assertThat(notifications).hasValue(2);

    controller.apply("request-3", destinationRule("ratings"));
    assertThat(notifications).hasValue(3);

    controller.removeFile("reviews.yaml");
    assertThat(notifications).hasValue(4);
  }

  @Test
  void anApiChangeIsJournaledBeforeItIsInForce() {
    java.util.List<java.util.List<ResourceKey>> journaled = new java.util.ArrayList<>();
    java.util.List<Integer> inForceMeanwhile = new java.util.ArrayList<>();
    controller.journalTo(resources -> {
      inForceMeanwhile.add(store.list().size());
      journaled.add(resources.stream().map(ConfigResource::key).toList());
    });

    controller.apply("request", virtualService("reviews", 90));
    controller.apply("request", destinationRule("ratings"));
    controller.delete("request", java.util.List.of(new ResourceKey("VirtualService", "default", "reviews")));

    assertThat(journaled).containsExactly(
        java.util.List.of(new ResourceKey("VirtualService", "default", "reviews")),
        java.util.List.of(new ResourceKey("VirtualService", "default", "reviews"), new ResourceKey("DestinationRule", "default", "ratings")),
        java.util.List.of(new ResourceKey("DestinationRule", "default", "ratings")));
    assertThat(inForceMeanwhile).as("the store still holds what it held before each change").containsExactly(0, 1, 2);
  }

  @Test
  void anApiChangeThatCannotBeJournaledIsRefusedAndChangesNothing() {
    controller.apply("request", virtualService("reviews", 90));
    controller.journalTo(resources -> {
      throw new java.io.IOException("No space left on device");
    });

    ApplyResult applied = controller.apply("request", virtualService("reviews", 10));
    ApplyResult deleted = controller.delete("request", java.util.List.of(new ResourceKey("VirtualService", "default", "reviews")));

    assertThat(applied.accepted()).isFalse();
    assertThat(applied.serverFault()).isTrue();
    assertThat(applied.errors()).singleElement().satisfies(p -> assertThat(p.message()).contains("No space left on device"));
    assertThat(deleted.accepted()).isFalse();
    assertThat(store.get(new ResourceKey("VirtualService", "default", "reviews")).orElseThrow()
        .spec(dev.inmesh.control.config.networking.VirtualService.class).http().get(0).route().get(0).weight()).isEqualTo(90);
  }
}
