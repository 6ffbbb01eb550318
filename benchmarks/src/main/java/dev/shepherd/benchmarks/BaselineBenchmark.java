package dev.shepherd.benchmarks;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
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
 *
 * <p>The CAS target is a {@code long} alone on its cache lines (128 bytes of padding each side, as
 * Shepherd's limiters keep their state), so the floor never pays for false sharing that the
 * measured limiter avoids: a floor is only honest if nothing can beat it for a reason that is not
 * the work itself.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class BaselineBenchmark {

  private final PaddedCell state = new PaddedCell();

  /** Padding before the cell; superclass fields are laid out first. */
  @SuppressWarnings("unused")
  abstract static class PadBefore {
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
  }

  /** The contended value. */
  abstract static class Value extends PadBefore {
    volatile long value;
  }

  /** A {@code long} with 128 bytes of padding on each side, updated like an {@code AtomicLong}. */
  @SuppressWarnings("unused")
  static final class PaddedCell extends Value {
    private static final VarHandle VALUE;

    static {
      try {
        VALUE = MethodHandles.lookup().findVarHandle(Value.class, "value", long.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;

    long get() {
      return value;
    }

    boolean compareAndSet(long expected, long next) {
      return VALUE.compareAndSet(this, expected, next);
    }

    long compareAndExchange(long expected, long next) {
      return (long) VALUE.compareAndExchange(this, expected, next);
    }
  }

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
