package dev.shepherd.benchmarks;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.shepherd.circuitbreaker.CircuitBreaker;
import dev.shepherd.core.EventListener;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
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
 * Circuit breakers side by side on the path that matters: a permitted call on a shared, closed
 * breaker whose calls succeed. Same configuration everywhere: a window of the last 100 calls (or of
 * the last 10 s), at least 20 calls before judging, failure-rate threshold 50 %. Two ways in for
 * each library: the whole call through the library's own wrapper ({@code *Call}), and the bare
 * permission plus a recorded success ({@code *Permission}), which is what a hand-written
 * integration costs.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class CircuitBreakerBenchmark {

  private static final Callable<Boolean> WORK = () -> Boolean.TRUE;

  @Param({"count", "time"})
  public String window;

  private CircuitBreaker shepherd;
  private io.github.resilience4j.circuitbreaker.CircuitBreaker resilience4j;
  private dev.failsafe.CircuitBreaker<Object> failsafe;
  private FailsafeExecutor<Object> failsafeExecutor;

  @Setup
  public void setUp() {
    boolean count = "count".equals(window);
    CircuitBreaker.Builder s = CircuitBreaker.builder().name("bench").minimumCalls(20).failureRateThreshold(0.5)
        .listener(EventListener.noop());
    shepherd = (count ? s.countWindow(100) : s.timeWindow(Duration.ofSeconds(10), 10)).build();

    CircuitBreakerConfig.Builder r = CircuitBreakerConfig.custom().minimumNumberOfCalls(20).failureRateThreshold(50);
    r = count ? r.slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED).slidingWindowSize(100)
        : r.slidingWindowType(CircuitBreakerConfig.SlidingWindowType.TIME_BASED).slidingWindowSize(10);
    resilience4j = io.github.resilience4j.circuitbreaker.CircuitBreaker.of("peer", r.build());

    // Failsafe's count-based form is "50 failures of the last 100"; its time-based one takes a percentage.
    failsafe = count ? dev.failsafe.CircuitBreaker.builder().withFailureThreshold(50, 100).build()
        : dev.failsafe.CircuitBreaker.builder().withFailureRateThreshold(50, 20, Duration.ofSeconds(10)).build();
    failsafeExecutor = Failsafe.with(failsafe);
  }

  /** The whole call through {@code call}: permission, action, judged outcome; allocates nothing. */
  @Benchmark
  public Boolean shepherdCall() throws Exception {
    return shepherd.call(WORK);
  }

  /** The allocation-free permission form: {@code tryAcquirePermission} plus {@code onSuccess}. */
  @Benchmark
  public boolean shepherdPermission() {
    long permission = shepherd.tryAcquirePermission();
    if (permission == CircuitBreaker.NOT_PERMITTED) {
      return false;
    }
    shepherd.onSuccess(permission, 0);
    return true;
  }

  @Benchmark
  public Boolean resilience4jCall() throws Exception {
    return resilience4j.executeCallable(WORK);
  }

  @Benchmark
  public boolean resilience4jPermission() {
    boolean permitted = resilience4j.tryAcquirePermission();
    if (permitted) {
      resilience4j.onSuccess(0, TimeUnit.NANOSECONDS);
    }
    return permitted;
  }

  @Benchmark
  public Object failsafeCall() {
    return failsafeExecutor.get(WORK::call);
  }

  @Benchmark
  public boolean failsafePermission() {
    boolean permitted = failsafe.tryAcquirePermit();
    if (permitted) {
      failsafe.recordSuccess();
    }
    return permitted;
  }
}
