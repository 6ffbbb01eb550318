package dev.shepherd.benchmarks;

import dev.shepherd.bulkhead.Bulkhead;
import dev.shepherd.bulkhead.DeadlineGuard;
import dev.shepherd.bulkhead.Permit;
import dev.shepherd.core.Deadline;
import dev.shepherd.core.EventListener;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import java.util.concurrent.Callable;
import java.time.Duration;
import java.util.concurrent.Semaphore;
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

/** Bulkheads side by side: one acquire plus one release on a shared instance with room to spare. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class BulkheadBenchmark {

  static final int LIMIT = 64;

  private static final Callable<Boolean> WORK = () -> Boolean.TRUE;

  private Bulkhead shepherd;
  private DeadlineGuard guard;
  private DeadlineGuard measuringGuard;
  private Deadline deadline;
  private Semaphore semaphore;
  private io.github.resilience4j.bulkhead.Bulkhead resilience4j;
  private dev.failsafe.Bulkhead<Object> failsafe;

  @Setup
  public void setUp() {
    shepherd = Bulkhead.builder().name("bench").maxConcurrent(LIMIT).listener(EventListener.noop()).build();
    guard = DeadlineGuard.builder().name("bench").maxConcurrent(LIMIT).listener(EventListener.noop()).build();
    measuringGuard = DeadlineGuard.builder().name("bench").maxConcurrent(LIMIT).dropIfCannotFinish(true)
        .listener(EventListener.noop()).build();
    deadline = Deadline.after(Duration.ofDays(365));
    semaphore = new Semaphore(LIMIT);
    resilience4j = io.github.resilience4j.bulkhead.Bulkhead.of("peer",
        BulkheadConfig.custom().maxConcurrentCalls(LIMIT).maxWaitDuration(Duration.ZERO).build());
    failsafe = dev.failsafe.Bulkhead.of(LIMIT);
  }

  /** Acquire, run a trivial action, release: the way most code uses a bulkhead; allocates nothing. */
  @Benchmark
  public Boolean shepherdCall() throws Exception {
    return shepherd.call(WORK);
  }

  /** The deadline guard's granting path: a deadline check (one ticker read), acquire, run, release. */
  @Benchmark
  public Boolean shepherdDeadlineGuardCall() throws Exception {
    return guard.call(deadline, WORK);
  }

  /** The same, also measuring the service time (two more ticker reads and a volatile write). */
  @Benchmark
  public Boolean shepherdDeadlineGuardCallMeasured() throws Exception {
    return measuringGuard.call(deadline, WORK);
  }

  /** Acquire a permit handle (one small object) and close it. */
  @Benchmark
  public boolean shepherdTryAcquireClose() {
    Permit permit = shepherd.tryAcquire();
    if (permit == null) {
      return false;
    }
    permit.close();
    return true;
  }

  @Benchmark
  public boolean semaphore() {
    boolean acquired = semaphore.tryAcquire();
    if (acquired) {
      semaphore.release();
    }
    return acquired;
  }

  @Benchmark
  public boolean resilience4j() {
    boolean acquired = resilience4j.tryAcquirePermission();
    if (acquired) {
      resilience4j.onComplete();
    }
    return acquired;
  }

  @Benchmark
  public boolean failsafe() {
    boolean acquired = failsafe.tryAcquirePermit();
    if (acquired) {
      failsafe.releasePermit();
    }
    return acquired;
  }
}
