package dev.shepherd.benchmarks;

import dev.shepherd.core.EventListener;
import dev.shepherd.ratelimit.LeakyBucketMeter;
import dev.shepherd.ratelimit.TokenBucket;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import java.time.Duration;
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
 * Rate limiters side by side, one shared instance per benchmark (contended at two threads).
 *
 * <p>{@code path=granting}: a limit so high that every call is granted (the fast path).
 * {@code path=rejecting}: one permit per second, so almost every call is rejected (a storm).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class RateLimiterBenchmark {

  @Param({"granting", "rejecting"})
  public String path;

  private TokenBucket tokenBucket;
  private LeakyBucketMeter leakyMeter;
  private Bucket bucket4j;
  private io.github.resilience4j.ratelimiter.RateLimiter resilience4j;
  private com.google.common.util.concurrent.RateLimiter guava;
  private dev.failsafe.RateLimiter<Object> failsafeSmooth;
  private dev.failsafe.RateLimiter<Object> failsafeBursty;

  @Setup
  public void setUp() {
    boolean granting = path.equals("granting");
    // "Granting": a burst of 10^12 refilled at 10^9 per second (Bucket4j's highest rate) is never
    // exhausted in a run; "rejecting": one permit per second.
    long burst = granting ? 1_000_000_000_000L : 1;
    long perSecond = granting ? 1_000_000_000L : 1;
    // Shepherd's fastest rate is 10^9 per second; a burst of 2^31-1 is never exhausted in a run.
    // Events go to a no-op listener so the rejecting path measures the limiter, not logging.
    tokenBucket = TokenBucket.builder().name("bench")
        .rate(granting ? 1_000_000_000L : 1, Duration.ofSeconds(1))
        .burst(granting ? Integer.MAX_VALUE : 1)
        .listener(EventListener.noop())
        .build();
    leakyMeter = LeakyBucketMeter.builder().name("bench-meter")
        .rate(granting ? 1_000_000_000L : 1, Duration.ofSeconds(1))
        .tolerance(granting ? Duration.ofSeconds(2) : Duration.ZERO)
        .listener(EventListener.noop())
        .build();
    bucket4j = Bucket.builder()
        .addLimit(Bandwidth.builder().capacity(burst).refillGreedy(perSecond, Duration.ofSeconds(1)).build())
        .build();
    resilience4j = io.github.resilience4j.ratelimiter.RateLimiter.of("peer", RateLimiterConfig.custom()
        .limitForPeriod(granting ? Integer.MAX_VALUE : 1)
        .limitRefreshPeriod(Duration.ofSeconds(1))
        .timeoutDuration(Duration.ZERO)
        .build());
    guava = com.google.common.util.concurrent.RateLimiter.create(granting ? 1e12 : 1.0);
    // Failsafe's smooth limiter takes the interval between permits; one nanosecond is its fastest.
    failsafeSmooth = dev.failsafe.RateLimiter.smoothBuilder(granting ? Duration.ofNanos(1) : Duration.ofSeconds(1)).build();
    failsafeBursty = dev.failsafe.RateLimiter.burstyBuilder(burst, Duration.ofSeconds(1)).build();
  }

  @Benchmark
  public boolean shepherdTokenBucket() {
    return tokenBucket.tryAcquire();
  }

  /** The same decision, also learning how long to wait on a refusal; allocation-free either way. */
  @Benchmark
  public long shepherdTokenBucketRetryAfter() {
    return tokenBucket.acquireOrRetryAfterNanos(1);
  }

  @Benchmark
  public boolean shepherdLeakyBucketMeter() {
    return leakyMeter.tryAcquire();
  }

  @Benchmark
  public boolean bucket4j() {
    return bucket4j.tryConsume(1);
  }

  @Benchmark
  public boolean resilience4j() {
    return resilience4j.acquirePermission();
  }

  @Benchmark
  public boolean guava() {
    return guava.tryAcquire();
  }

  @Benchmark
  public boolean failsafeSmooth() {
    return failsafeSmooth.tryAcquirePermit();
  }

  @Benchmark
  public boolean failsafeBursty() {
    return failsafeBursty.tryAcquirePermit();
  }
}
