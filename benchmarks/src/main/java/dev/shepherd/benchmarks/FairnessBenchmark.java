package dev.shepherd.benchmarks;

import dev.shepherd.core.EventListener;
import dev.shepherd.ratelimit.TokenBucket;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Who gets the grants when two threads share one limiter: each thread's own throughput, reported
 * by JMH as the group members {@code first} and {@code second} of {@code pair}, beside their sum.
 * A limiter that parks the thread that lost a compare-and-set could let one thread run while the
 * other waits; these rows show how evenly the two share over each iteration. Granting path: a
 * limit that is never reached in a run.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Group)
public class FairnessBenchmark {

  @Param({"shepherd", "resilience4j", "failsafeBursty"})
  public String limiter;

  private BooleanSupplier acquire;

  @Setup
  public void setUp() {
    switch (limiter) {
      case "shepherd" -> {
        TokenBucket bucket = TokenBucket.builder().name("fair").rate(1_000_000_000L, Duration.ofSeconds(1))
            .burst(Integer.MAX_VALUE).listener(EventListener.noop()).build();
        acquire = bucket::tryAcquire;
      }
      case "resilience4j" -> {
        io.github.resilience4j.ratelimiter.RateLimiter peer = io.github.resilience4j.ratelimiter.RateLimiter.of(
            "fair", RateLimiterConfig.custom().limitForPeriod(Integer.MAX_VALUE)
                .limitRefreshPeriod(Duration.ofSeconds(1)).timeoutDuration(Duration.ZERO).build());
        acquire = peer::acquirePermission;
      }
      case "failsafeBursty" -> {
        dev.failsafe.RateLimiter<Object> peer = dev.failsafe.RateLimiter
            .burstyBuilder(1_000_000_000_000L, Duration.ofSeconds(1)).build();
        acquire = peer::tryAcquirePermit;
      }
      default -> throw new IllegalArgumentException("limiter: " + limiter);
    }
  }

  /** One of the two threads. */
  @Benchmark
  @Group("pair")
  @GroupThreads(1)
  public boolean first() {
    return acquire.getAsBoolean();
  }

  /** The other thread, on the same limiter. */
  @Benchmark
  @Group("pair")
  @GroupThreads(1)
  public boolean second() {
    return acquire.getAsBoolean();
  }
}
