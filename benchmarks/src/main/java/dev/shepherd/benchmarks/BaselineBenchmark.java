package dev.shepherd.benchmarks;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The floors every limiter is measured against, in the same run: reading the clock, one CAS, and
 * the two together (what a GCRA token bucket must do at the least).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class BaselineBenchmark {

  private final AtomicLong state = new AtomicLong();

  @Benchmark
  public long nanoTime() {
    return System.nanoTime();
  }

  /** A read-then-compareAndSet loop on one shared AtomicLong: contended at two threads. */
  @Benchmark
  public long casLoop() {
    for (;;) {
      long current = state.get();
      long next = current + 1;
      if (state.compareAndSet(current, next)) {
        return next;
      }
    }
  }

  /** Read the clock, then one CAS loop storing it: the least work of a lock-free limiter. */
  @Benchmark
  public long nanoTimePlusCas() {
    long now = System.nanoTime();
    for (;;) {
      long current = state.get();
      long next = Math.max(current, now) + 1;
      if (state.compareAndSet(current, next)) {
        return next;
      }
    }
  }
}
