package dev.shepherd.benchmarks;

import dev.shepherd.core.EventListener;
import dev.shepherd.ratelimit.SlotAdmission;
import dev.shepherd.ratelimit.SlotRefusedException;
import dev.shepherd.ratelimit.SlotTicket;
import dev.shepherd.ratelimit.TokenBucket;
import java.time.Duration;
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
 * Reconnect-slot admission's admit path beside the token bucket's grant path, and a slot ticket's
 * verification on its own. One shared instance per benchmark; run with {@code -t 2} for contention
 * and {@code -prof gc} to see that neither path allocates.
 *
 * <ul>
 *   <li>{@code tokenBucket}: {@link TokenBucket#acquireOrRetryAfterNanos(int)} with a limit never
 *       reached, the baseline;
 *   <li>{@code slotAdmit}: {@link SlotAdmission#acquire(long)} of a caller without a ticket, with a
 *       limit never reached: the same clock read and compare-and-set, plus a counter;
 *   <li>{@code slotTicket}: {@link SlotAdmission#acquire(long, SlotTicket)} of a caller presenting a
 *       valid ticket inside its window: a SipHash-2-4 tag, a wall-clock read, a counter, and no
 *       change to the schedule.
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class SlotAdmissionBenchmark {

  private TokenBucket tokenBucket;
  private SlotAdmission granting;
  private SlotAdmission redeeming;
  private SlotTicket ticket;

  @Setup
  public void setUp() throws InterruptedException {
    tokenBucket = TokenBucket.builder().name("bench").rate(1_000_000_000L, Duration.ofSeconds(1))
        .burst(Integer.MAX_VALUE).listener(EventListener.noop()).build();
    granting = SlotAdmission.builder().name("bench").permitsPerSecond(1e9).headroom(0).burst(Integer.MAX_VALUE)
        .listener(EventListener.noop()).build();
    // One admission a second with a burst of one: the second caller gets the slot a second away,
    // and its ticket then admits it for an hour, longer than the whole run.
    redeeming = SlotAdmission.builder().name("bench-tickets").permitsPerSecond(1).headroom(0).burst(1)
        .grace(Duration.ofHours(1)).listener(EventListener.noop()).build();
    redeeming.acquire(1);
    try {
      redeeming.acquire(2);
      throw new IllegalStateException("the burst of one was spent");
    } catch (SlotRefusedException refused) {
      ticket = refused.ticket().orElseThrow();
      TimeUnit.NANOSECONDS.sleep(refused.retryAfterNanos() + 5_000_000L);
    }
  }

  @Benchmark
  public long tokenBucket() {
    return tokenBucket.acquireOrRetryAfterNanos(1);
  }

  @Benchmark
  public void slotAdmit() {
    granting.acquire(42L);
  }

  @Benchmark
  public void slotTicket() {
    redeeming.acquire(2L, ticket);
  }
}
