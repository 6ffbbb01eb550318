package dev.shepherd.benchmarks;

import dev.shepherd.bulkhead.Bulkhead;
import dev.shepherd.bulkhead.DeadlineGuard;
import dev.shepherd.core.Deadline;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.EventListener;
import java.time.Duration;
import java.util.concurrent.Callable;
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
 * What a deadline costs: {@link DeadlineGuard#call(Deadline, Callable)} beside {@link
 * Bulkhead#call(Callable)} at the same limit, with room to spare, in both queue orders and with the
 * service time measured; and the refusal of a call that arrives after its deadline (no permit
 * taken, one exception built, counted). The guard's ratio to {@code bulkheadCall} is its price.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class DeadlineGuardBenchmark {

  static final int LIMIT = 64;

  private static final Callable<Boolean> WORK = () -> Boolean.TRUE;

  Bulkhead bulkhead;
  DeadlineGuard newestFirst;
  DeadlineGuard oldestFirst;
  DeadlineGuard measuring;
  /** A deadline a year away: every call has time. */
  Deadline far;
  /** A deadline that has already passed: every call is refused on arrival. */
  Deadline passed;

  @Setup
  public void setUp() {
    bulkhead = Bulkhead.builder().name("bench").maxConcurrent(LIMIT).listener(EventListener.noop()).build();
    newestFirst = DeadlineGuard.builder().name("bench").maxConcurrent(LIMIT).listener(EventListener.noop()).build();
    oldestFirst = DeadlineGuard.builder().name("bench").maxConcurrent(LIMIT)
        .order(DeadlineGuard.Order.OLDEST_FIRST).listener(EventListener.noop()).build();
    measuring = DeadlineGuard.builder().name("bench").maxConcurrent(LIMIT).dropIfCannotFinish(true)
        .listener(EventListener.noop()).build();
    far = Deadline.after(Duration.ofDays(365));
    passed = Deadline.after(Duration.ZERO);
  }

  /** The baseline: acquire, run a trivial action, release. */
  @Benchmark
  public Boolean bulkheadCall() throws Exception {
    return bulkhead.call(WORK);
  }

  /** The guard with its defaults (newest first): one deadline read, acquire, run, release. */
  @Benchmark
  public Boolean guardCall() throws Exception {
    return newestFirst.call(far, WORK);
  }

  /** The same, first in first out: the order only matters once calls queue. */
  @Benchmark
  public Boolean guardCallOldestFirst() throws Exception {
    return oldestFirst.call(far, WORK);
  }

  /** The guard that drops calls that cannot finish: two more ticker reads and a volatile write. */
  @Benchmark
  public Boolean guardCallMeasured() throws Exception {
    return measuring.call(far, WORK);
  }

  /** A call whose deadline has passed: refused before taking a permit (the no-op listener gets no event). */
  @Benchmark
  public Boolean guardRefusesLateCall() throws Exception {
    try {
      return newestFirst.call(passed, WORK);
    } catch (DeadlineExceededException e) {
      return Boolean.FALSE;
    }
  }
}
