package dev.shepherd.benchmarks;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
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
 * What to do after a failed CAS, measured on the floor's own work (read the clock, then one CAS
 * loop storing {@code max(state, now) + 1} into a padded {@code long}): the strategies issue 13
 * asked to compare, side by side in one run, so that a limiter adopts one only on evidence. Run it
 * at 2 threads ({@code -t 2}) with {@code -bm avgt,sample}; at 1 thread every CAS succeeds and the
 * rows are the same loop.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class CasBackoffBenchmark {

  private final BaselineBenchmark.PaddedCell state = new BaselineBenchmark.PaddedCell();
  private final LongAdder granted = new LongAdder();

  /** Retry at once with a fresh read (the floor). */
  @Benchmark
  public long retryAtOnce() {
    long now = System.nanoTime();
    for (;;) {
      long current = state.get();
      if (state.compareAndSet(current, Math.max(current, now) + 1)) {
        return current;
      }
    }
  }

  /** Retry at once on the value the failed {@code compareAndExchange} witnessed (no re-read). */
  @Benchmark
  public long retryOnWitness() {
    long now = System.nanoTime();
    long current = state.get();
    for (;;) {
      long witness = state.compareAndExchange(current, Math.max(current, now) + 1);
      if (witness == current) {
        return current;
      }
      current = witness;
    }
  }

  /**
   * The witness row plus a {@link LongAdder} count of grants, as the token bucket keeps one: what
   * the counter adds to the contended path (its cells are per thread once contention spread them).
   */
  @Benchmark
  public long retryOnWitnessCounted() {
    long now = System.nanoTime();
    long current = state.get();
    for (;;) {
      long witness = state.compareAndExchange(current, Math.max(current, now) + 1);
      if (witness == current) {
        granted.increment();
        return current;
      }
      current = witness;
    }
  }

  /**
   * Reads the state for ownership: a {@code compareAndExchange(x, x)} (a no-op whatever the state)
   * brings the line in exclusive, so the CAS after it needs no second transfer; then as the witness row.
   */
  @Benchmark
  public long readForOwnership() {
    long now = System.nanoTime();
    long current = state.compareAndExchange(0L, 0L);
    for (;;) {
      long witness = state.compareAndExchange(current, Math.max(current, now) + 1);
      if (witness == current) {
        return current;
      }
      current = witness;
    }
  }

  /** After a failure, {@code Thread.onSpinWait()} once, twice, ... up to 4 times, then a fresh read. */
  @Benchmark
  public long spin1To4() {
    return spinning(1, 4);
  }

  /** After a failure, {@code Thread.onSpinWait()} 2, 4, ... up to 16 times, then a fresh read. */
  @Benchmark
  public long spin2To16() {
    return spinning(2, 16);
  }

  /** Retry at once after the first two failures in a row; park for 1 ns after every later one. */
  @Benchmark
  public long retryTwiceThenPark() {
    return parkingAfter(2);
  }

  /** After a failure, {@code Thread.onSpinWait()} 4, 8, ... up to 64 times, then a fresh read. */
  @Benchmark
  public long spin4To64() {
    return spinning(4, 64);
  }

  /** After a failure, {@code Thread.onSpinWait()} 32, 64, ... up to 512 times, then a fresh read. */
  @Benchmark
  public long spin32To512() {
    return spinning(32, 512);
  }

  /** After a failure, {@code Thread.onSpinWait()} 256, 512, ... up to 4096 times, then a fresh read. */
  @Benchmark
  public long spin256To4096() {
    return spinning(256, 4096);
  }

  /**
   * Retry at once on the witness after the first failure; from the second on, spin 32, 64, ... up
   * to 512 times and read afresh.
   */
  @Benchmark
  public long witnessThenSpin32To512() {
    long now = System.nanoTime();
    long current = state.get();
    int spins = 0;
    for (;;) {
      long witness = state.compareAndExchange(current, Math.max(current, now) + 1);
      if (witness == current) {
        return current;
      }
      if (spins == 0) {
        spins = 32;
        current = witness;
        continue;
      }
      for (int i = 0; i < spins; i++) {
        Thread.onSpinWait();
      }
      spins = Math.min(512, spins << 1);
      current = state.get();
    }
  }

  /** After a failure, {@code parkNanos(1)} (Resilience4j's rate limiter), then a fresh read. */
  @Benchmark
  public long park() {
    return parkingAfter(0);
  }

  /** Retries at once after the first {@code retries} failures, then parks 1 ns after each. */
  private long parkingAfter(int retries) {
    long now = System.nanoTime();
    int failures = 0;
    for (;;) {
      long current = state.get();
      if (state.compareAndSet(current, Math.max(current, now) + 1)) {
        return current;
      }
      if (++failures > retries) {
        LockSupport.parkNanos(1);
      }
    }
  }

  private long spinning(int first, int cap) {
    long now = System.nanoTime();
    int spins = first;
    for (;;) {
      long current = state.get();
      if (state.compareAndSet(current, Math.max(current, now) + 1)) {
        return current;
      }
      for (int i = 0; i < spins; i++) {
        Thread.onSpinWait();
      }
      spins = Math.min(cap, spins << 1);
    }
  }
}
