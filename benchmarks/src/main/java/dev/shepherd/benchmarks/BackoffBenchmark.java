package dev.shepherd.benchmarks;

import dev.shepherd.backoff.Backoff;
import io.github.resilience4j.core.IntervalFunction;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of computing the next backoff delay. Each thread owns its schedule, as a retry loop does.
 * The peer and the floor cycle attempts through 1..16 (half of them capped); Shepherd's schedules
 * run on and are soon capped, which is their steady state (and, for decorrelated jitter v2, the
 * cheaper one).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class BackoffBenchmark {

  static final long BASE_NANOS = Duration.ofMillis(100).toNanos();
  static final long CAP_NANOS = Duration.ofSeconds(30).toNanos();

  private Backoff.Schedule fullJitter;
  private Backoff.Schedule decorrelatedJitter;
  private Backoff.Schedule decorrelatedJitterV2;
  private Backoff.Schedule grpc;
  private IntervalFunction resilience4j;
  private SplittableRandom random;
  private int attempt;

  @Setup
  public void setUp() {
    resilience4j = IntervalFunction.ofExponentialRandomBackoff(
        Duration.ofMillis(100), 2.0, 1.0, Duration.ofSeconds(30));
    random = new SplittableRandom(42);
    Duration base = Duration.ofNanos(BASE_NANOS);
    Duration cap = Duration.ofNanos(CAP_NANOS);
    fullJitter = Backoff.fullJitter(base, cap).start(new SplittableRandom(1));
    decorrelatedJitter = Backoff.decorrelatedJitter(base, cap).start(new SplittableRandom(2));
    decorrelatedJitterV2 = Backoff.decorrelatedJitterV2(base, cap).start(new SplittableRandom(3));
    grpc = Backoff.grpc().start(new SplittableRandom(4));
  }

  @Benchmark
  public long shepherdFullJitter() {
    return fullJitter.nextDelayNanos();
  }

  @Benchmark
  public long shepherdDecorrelatedJitter() {
    return decorrelatedJitter.nextDelayNanos();
  }

  @Benchmark
  public long shepherdDecorrelatedJitterV2() {
    return decorrelatedJitterV2.nextDelayNanos();
  }

  @Benchmark
  public long shepherdGrpc() {
    return grpc.nextDelayNanos();
  }

  private int nextAttempt() {
    attempt = (attempt & 15) + 1;
    return attempt;
  }

  @Benchmark
  public long resilience4jExponentialRandom() {
    return resilience4j.apply(nextAttempt());
  }

  /** The floor: full jitter written by hand with shifts and one random draw. */
  @Benchmark
  public long handWrittenFullJitter() {
    int n = nextAttempt();
    long ceiling = Math.min(CAP_NANOS, BASE_NANOS << (n - 1));
    return random.nextLong(ceiling + 1);
  }
}
