package dev.inmesh.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.benchmarks.control.ConvergenceBenchmark;
import dev.inmesh.benchmarks.control.MemoryFootprint;
import dev.inmesh.benchmarks.loopback.LoopbackHarness;
import dev.inmesh.benchmarks.loopback.MtlsHarness;
import dev.inmesh.benchmarks.loopback.StartupHarness;
import dev.inmesh.benchmarks.loopback.TlsEcho;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Every benchmark runs for a moment in the build so that none of them rots. Nothing here is about
 * speed: each run must complete, measure something, and fail no call. The figures come from the
 * full runs in BENCHMARKS.md.
 */
class BenchmarksSmokeIT {
  private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

  @Test
  void everyJmhBenchmarkRuns() throws Exception {
    Collection<RunResult> results = new Runner(new OptionsBuilder()
        .include(DecisionPathBenchmark.class.getSimpleName())
        .include(InterceptorBenchmark.class.getSimpleName())
        .include(CsrSigningBenchmark.class.getSimpleName())
        .warmupIterations(0)
        .measurementIterations(1)
        .measurementTime(TimeValue.milliseconds(200))
        .forks(0)
        .build()).run();

    assertThat(results).extracting(r -> r.getParams().getBenchmark().replaceAll(".*\\.", ""))
        .contains("decisionPath", "matchTheLastOfAThousandRoutes", "authorize", "recordIstioMetrics", "throughInmesh",
            "plainOkHttp");
    assertThat(results).allSatisfy(r -> assertThat(r.getPrimaryResult().getSampleCount()).isPositive());
  }

  @Test
  void theLoopbackHarnessRunsEveryVariantWithoutAFailedCall() throws Exception {
    List<LoopbackHarness.Result> results = LoopbackHarness.run(
        new LoopbackHarness.Options(200, Duration.ofSeconds(1), 1, 4, Duration.ofSeconds(1)), out);
    LoopbackHarness.report(results, out);

    assertThat(results).extracting(LoopbackHarness.Result::variant).containsExactly("plain", "inmesh", "haproxy-1", "haproxy-2");
    assertThat(results).allSatisfy(r -> {
      assertThat(r.failures()).as(r.variant()).isZero();
      assertThat(r.latencies().getTotalCount()).as(r.variant()).isEqualTo(r.requests()).isPositive();
      assertThat(r.throughput()).as(r.variant()).isPositive();
    });
    // a Mesh holding one service retains well under 1 MB (the reading moves by some 200 kB); P6 allows
    // 10 MB for a thousand services. Only the HAProxy variants run sidecars.
    assertThat(results.get(1).heapRetainedBytes()).isLessThan(10_000_000);
    assertThat(results).extracting(LoopbackHarness.Result::sidecarRssBytes)
        .satisfiesExactly(plain -> assertThat(plain).isZero(), inmesh -> assertThat(inmesh).isZero(),
            oneHop -> assertThat(oneHop).isPositive(), twoHops -> assertThat(twoHops).isGreaterThan(results.get(2).sidecarRssBytes()));
    assertThat(printed.toString(StandardCharsets.UTF_8)).contains("| P2 |", "| P5 |", "heap retained kB")
        .contains("CPU per request over the measured rounds, µs (threads: inmesh, plain, difference)")
        .containsPattern("callers +\\d").containsPattern("nginx and HAProxy \\(processes\\) +\\d");
  }

  @Test
  void theMtlsHarnessMeasuresBothVariantsTheHandshakesAndAStart() throws Exception {
    MtlsHarness.Result result = MtlsHarness.run(Duration.ofSeconds(1), 1, 1, out);
    String report = printed.toString(StandardCharsets.UTF_8);

    assertThat(result.failures()).as(report).isZero();
    assertThat(result.mtlsP50Micros()).isPositive();
    assertThat(result.plainP50Micros()).isPositive();
    assertThat(result.sequentialMtlsP50Micros()).isPositive();
    assertThat(result.sequentialPlainP50Micros()).isPositive();
    // the paired rounds: the variants take turns request by request
    assertThat(report).containsPattern("paired round 1:  mTLS p50 [\\d.]+ µs;  plaintext p50 [\\d.]+ µs;  mTLS adds -?[\\d.]+ µs");
    assertThat(result.handshakesPerSecond()).isPositive();
    assertThat(result.opensslHandshakesPerSecond()).as(report).isPositive();
    assertThat(result.startupMillis()).as(report).isPositive();
    assertThat(result.plainStartupMillis()).as(report).isPositive();
    // each probe reports what its JVM holds; Inmesh's loads gRPC, Netty, protobuf and the TLS stack beside OkHttp
    assertThat(report).containsPattern("footprint after the first call: metaspace [\\d.]+ MB, [\\d,]+ classes");
    assertThat(report).contains("CPU per request over the measured rounds").containsPattern("callers +\\d").containsPattern("doors +\\d");
    // the doors' counters record (a Mesh on Micrometer's empty global registry counted nothing)
    assertThat(report).containsPattern("connections each door took since the start: mTLS [1-9]\\d*, plaintext [1-9]");
  }

  @Test
  void theStartupHarnessRunsEveryProbeInEveryRound() throws Exception {
    StartupHarness.Result result = StartupHarness.run(2, out);
    String report = printed.toString(StandardCharsets.UTF_8);

    assertThat(result.meshMillis()).as(report).hasSize(2).allSatisfy(millis -> assertThat(millis).isPositive());
    assertThat(result.plainMillis()).as(report).hasSize(2).allSatisfy(millis -> assertThat(millis).isPositive());
    assertThat(result.mesh()).isIn(result.meshMillis());
    // each probe reports the CPU its JVM used by the answer, which a start of any length needs some of
    assertThat(result.meshCpuMillis()).as(report).hasSize(2).allSatisfy(millis -> assertThat(millis).isPositive());
    assertThat(result.plainCpuMillis()).as(report).hasSize(2).allSatisfy(millis -> assertThat(millis).isPositive());
    assertThat(report).containsPattern("cpu by the answer: [\\d,]+ ms \\(compiling: [\\d,]+ ms\\) on \\d+ processors");
    // AppCDS archives classes from jars only; the build runs the benchmarks from its class directories
    if (report.contains("no AppCDS archive was written")) {
      assertThat(result.cdsMillis()).isEmpty();
      assertThat(result.cds()).isEqualTo(-1);
    } else {
      assertThat(result.cdsMillis()).as(report).hasSize(2).allSatisfy(millis -> assertThat(millis).isPositive());
    }
    // JDK 25's AOT cache is measured on JDK 25 and later only
    if (Runtime.version().feature() < 25) {
      assertThat(result.aotMillis()).isEmpty();
    }
  }

  @Test
  void theTlsEchoMeasuresPlainSocketsAndMutualTls() throws Exception {
    // enough round trips that each variant's process CPU time spans several of the OS's ticks: 200
    // warm TLS round trips took under one tick here and read as 0 CPU
    TlsEcho.Result result = TlsEcho.run(3_000, 1, out);

    assertThat(result.plainP50Micros()).isPositive();
    assertThat(result.tlsP50Micros()).isPositive();
    assertThat(result.tlsCpuMicros()).isPositive();
    assertThat(result.bufferedP50Micros()).isPositive();
    assertThat(printed.toString(StandardCharsets.UTF_8)).contains("over buffered sockets p50");
  }

  @Test
  void theTlsEchoPausesBeforeEachRoundTripWhenAsked() throws Exception {
    long start = System.nanoTime();
    // 100 round trips after 2 ms each, in each of two rounds (the first warms up)
    TlsEcho.Result result = TlsEcho.run(100, 1, 2_000, out);

    assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(2 * 3 * 100 * 2));
    assertThat(result.plainP50Micros()).isPositive();
    assertThat(result.tlsP50Micros()).isPositive();
    assertThat(result.bufferedP50Micros()).isPositive();
  }

  @Test
  void aChangeReachesEveryAdsClient() throws Exception {
    ConvergenceBenchmark.Result result = ConvergenceBenchmark.run(50, 1, out);

    assertThat(result.changes()).singleElement().satisfies(times -> assertThat(times).hasSize(50));
    assertThat(result.max()).isPositive();
  }

  @Test
  void theMemoryFootprintIsMeasured() throws Exception {
    // the services' clusters (one per ServiceEntry) were all held while measured
    assertThat(MemoryFootprint.measure(20).clusters()).isGreaterThanOrEqualTo(20);
  }
}
