package dev.shepherd.benchmarks;

import dev.shepherd.bulkhead.Bulkhead;
import dev.shepherd.core.EventListener;
import dev.shepherd.micrometer.BulkheadMetrics;
import dev.shepherd.micrometer.MetricsListener;
import dev.shepherd.micrometer.RateLimiterMetrics;
import dev.shepherd.ratelimit.TokenBucket;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The grant paths with and without Micrometer bound: {@code metrics=true} gives each primitive a
 * {@link MetricsListener} and binds its gauges and counters to a registry (which reads the
 * primitive's own counters when scraped); {@code metrics=false} uses the no-op listener and binds
 * nothing. The claim: the same ns/op within the noise, and 0 B/op either way.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class MetricsBenchmark {

  private static final Callable<Boolean> WORK = () -> Boolean.TRUE;

  @Param({"false", "true"})
  public boolean metrics;

  private TokenBucket tokenBucket;
  private Bulkhead bulkhead;

  @Setup
  public void setUp() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    EventListener listener = metrics ? new MetricsListener(registry) : EventListener.noop();
    // As in RateLimiterBenchmark's granting path: never exhausted in a run.
    tokenBucket = TokenBucket.builder().name("bench").rate(1_000_000_000L, Duration.ofSeconds(1))
        .burst(Integer.MAX_VALUE).listener(listener).build();
    bulkhead = Bulkhead.builder().name("bench").maxConcurrent(BulkheadBenchmark.LIMIT).listener(listener).build();
    if (metrics) {
      RateLimiterMetrics.of(tokenBucket).bindTo(registry);
      BulkheadMetrics.of(bulkhead).bindTo(registry);
    }
  }

  @Benchmark
  public boolean tokenBucketGrant() {
    return tokenBucket.tryAcquire();
  }

  @Benchmark
  public Boolean bulkheadCall() throws Exception {
    return bulkhead.call(WORK);
  }
}
