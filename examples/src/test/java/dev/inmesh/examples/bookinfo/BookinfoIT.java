package dev.inmesh.examples.bookinfo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The README's Bookinfo commands, run the way {@code bin/demo} runs them: {@code check} reaches a
 * whole product page over HTTP, and the tour's seven steps each do what their Istio YAML says.
 */
class BookinfoIT {
  private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

  @Test
  void theMainCommandServesAWholeProductPage() throws Exception {
    int status = Bookinfo.run("check", Bookinfo.Ports.ephemeral(), out);

    assertThat(printed.toString(StandardCharsets.UTF_8)).contains("details ok, reviews ok").contains("Bookinfo works.");
    assertThat(status).isZero();
  }

  @Test
  void istiosAllMtlsRuleWithSubsetsNoWorkloadServesIsAckedByEveryClientAndThePageStaysWhole() throws Exception {
    try (Bookinfo bookinfo = Bookinfo.start(Bookinfo.Ports.ephemeral())) {
      var result = bookinfo.apply("destination-rule-all-mtls.yaml");

      assertThat(result.errors()).isEmpty();
      assertThat(bookinfo.control().clients()).isNotEmpty().allSatisfy(client -> assertThat(client.types().values())
          .as("%s", client.nodeId()).allSatisfy(type -> assertThat(type.lastNack()).isEmpty()));
      assertThat(Bookinfo.check(bookinfo, out)).as(printed.toString(StandardCharsets.UTF_8)).isTrue();
    }
  }

  @Test
  void meshctlApplyOfIstiosAllMtlsRuleExitsZeroWithEveryClientAcked() throws Exception {
    // Istio's own file when shared/istio-samples is beside the repository, else the demo's copy
    java.nio.file.Path file = dev.inmesh.testing.IstioSamples.file("bookinfo-networking/destination-rule-all-mtls.yaml")
        .orElse(java.nio.file.Path.of("src/main/resources/bookinfo/destination-rule-all-mtls.yaml"));
    try (Bookinfo bookinfo = Bookinfo.start(Bookinfo.Ports.ephemeral())) {
      ByteArrayOutputStream meshctlOut = new ByteArrayOutputStream();
      ByteArrayOutputStream meshctlErr = new ByteArrayOutputStream();
      int status = dev.inmesh.control.cli.Meshctl.run(new String[] {"apply", "--wait=30s", "-f", file.toString()},
          new PrintStream(meshctlOut, true, StandardCharsets.UTF_8), new PrintStream(meshctlErr, true, StandardCharsets.UTF_8),
          java.util.Map.of("MESHCTL_CREDENTIAL", bookinfo.credentialFile().toString()));
      String said = meshctlOut.toString(StandardCharsets.UTF_8) + meshctlErr.toString(StandardCharsets.UTF_8);

      assertThat(status).as(said).isZero();
      java.util.regex.Matcher acked = java.util.regex.Pattern.compile("(\\d+) of (\\d+) clients ACKed").matcher(said);
      assertThat(acked.find()).as(said).isTrue();
      assertThat(acked.group(1)).as(said).isEqualTo(acked.group(2));
      assertThat(Integer.parseInt(acked.group(2))).as("clients the change reached: " + said).isGreaterThanOrEqualTo(7);
      assertThat(Bookinfo.check(bookinfo, out)).as(printed.toString(StandardCharsets.UTF_8)).isTrue();
    }
  }

  @Test
  void eachStepOfTheTourDoesWhatItsConfigSays() throws Exception {
    List<Tour.Result> results;
    try (Bookinfo bookinfo = Bookinfo.start(Bookinfo.Ports.ephemeral())) {
      results = new Tour(bookinfo, out).run();
    } finally {
      System.out.print(printed.toString(StandardCharsets.UTF_8));
    }

    assertThat(results).hasSize(7);
    assertThat(results).allSatisfy(result -> assertThat(result.failures()).as("step %d, %s", result.step(), result.title())
        .isEmpty());
    // 1: all v1
    assertThat(results.get(0).anonymous().percentOf("v1")).isEqualTo(100);
    // 2: the split within five points
    Tour.Traffic split = results.get(1).anonymous();
    assertThat(split.pages()).hasSize(Tour.SPLIT_PAGES);
    assertThat(split.percentOf("v1")).isCloseTo(50, within(5.0));
    assertThat(split.percentOf("v3")).isCloseTo(50, within(5.0));
    // 3: the header route
    assertThat(results.get(2).jason().percentOf("v2")).isEqualTo(100);
    assertThat(results.get(2).anonymous().percentOf("v3")).isEqualTo(100);
    // 4: the timeout fires before the delay ends
    Tour.Traffic delayed = results.get(3).jason();
    assertThat(delayed.percentOf("unavailable")).isEqualTo(100);
    assertThat(delayed.minMillis()).isGreaterThanOrEqualTo(900);
    assertThat(delayed.maxMillis()).isLessThan(2000);
    // 5: the abort rate
    assertThat(results.get(4).jason().percent(page -> page.ratings().equals("unavailable"))).isEqualTo(100);
    assertThat(results.get(4).anonymous().percent(page -> page.ratings().equals("ok"))).isEqualTo(100);
    // 6: plaintext refused, the page still whole
    assertThat(results.get(5).checks()).anySatisfy(check -> assertThat(check).contains("plaintext GET").doesNotContain(": 200"));
    assertThat(results.get(5).anonymous().percent(page -> page.details().equals("ok"))).isEqualTo(100);
    // 7: the denied call
    assertThat(results.get(6).anonymous().percent(page -> page.details().equals("error"))).isEqualTo(100);
  }
}
