package dev.shepherd.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.testing.RedisServer;
import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * Runs every benchmark for a few milliseconds in this JVM, so a benchmark that throws, or that
 * was never generated, fails the build. It measures nothing: real numbers come from run.sh.
 * JMH itself stays silent (its banners would be most of the build log); the test prints one line.
 */
class BenchmarksSmokeTest {

  @Test
  void everyBenchmarkRunsAndReportsAScore() throws RunnerException {
    // The Redis benchmark needs a real redis-server. CI installs it (and there its absence must fail
    // the build); elsewhere, without one, it is left out with a loud message instead of failing.
    boolean redis = RedisServer.executable().isPresent() || RedisServer.mustNotSkip();
    if (!redis) {
      System.err.println("*** redis-server is not installed: BenchmarksSmokeTest leaves out RedisRateLimiterBenchmark ***");
    }
    OptionsBuilder builder = new OptionsBuilder();
    builder.include("dev\\.shepherd\\.benchmarks\\..*");
    if (!redis) {
      builder.exclude("RedisRateLimiterBenchmark");
    }
    Options options = builder
        .forks(0)
        .warmupIterations(0)
        .measurementIterations(1)
        .measurementTime(TimeValue.milliseconds(20))
        .threads(1)
        .shouldFailOnError(true)
        .verbosity(VerboseMode.SILENT)
        .build();
    Collection<RunResult> results = new Runner(options).run();

    Set<String> ran = new TreeSet<>();
    for (RunResult result : results) {
      double score = result.getPrimaryResult().getScore();
      String label = result.getParams().getBenchmark() + result.getParams().getParamsKeys().stream()
          .map(k -> "[" + k + "=" + result.getParams().getParam(k) + "]").reduce("", String::concat);
      assertTrue(Double.isFinite(score) && score > 0, label + " scored " + score);
      ran.add(label);
    }
    for (String kind : new String[] {"BaselineBenchmark", "RateLimiterBenchmark", "BulkheadBenchmark",
        "BackoffBenchmark", "AuthBenchmark", "CircuitBreakerBenchmark", "RedisRateLimiterBenchmark",
        "CasBackoffBenchmark"}) {
      if (!redis && kind.equals("RedisRateLimiterBenchmark")) {
        continue;
      }
      assertTrue(ran.stream().anyMatch(b -> b.contains("." + kind + ".")), kind + " did not run: " + ran);
    }
    assertEquals(ran.size(), results.size(), "each benchmark ran once: " + ran);
    System.out.println("JMH smoke run: " + ran.size() + " benchmarks ran and scored (no measurement)");
  }
}
