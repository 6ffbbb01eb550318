package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Several threads hammer one limiter for a bounded number of attempts; time is a ManualClock, frozen
 * or moved by the threads themselves. Every test ends: bounded loops, barriers with timeouts, and
 * executor shutdown.
 */
@Tag("concurrency")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RateLimiterConcurrencyTest {

  private static final int THREADS = 8;
  private final ExecutorService pool = Executors.newFixedThreadPool(THREADS);

  @AfterEach
  void shutdown() throws InterruptedException {
    pool.shutdownNow();
    assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
  }

  /** Runs {@code body(thread index)} on all threads at once and waits for all of them. */
  private void hammer(ThreadBody body) throws Exception {
    CyclicBarrier start = new CyclicBarrier(THREADS);
    List<Future<?>> done = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      int index = t;
      done.add(pool.submit(() -> {
        start.await(10, TimeUnit.SECONDS);
        body.run(index);
        return null;
      }));
    }
    for (Future<?> f : done) {
      f.get(30, TimeUnit.SECONDS);
    }
  }

  @FunctionalInterface
  interface ThreadBody {
    void run(int thread) throws Exception;
  }

  @Test
  void onAFrozenClockExactlyTheBurstIsGrantedWhateverTheInterleaving() throws Exception {
    ManualClock clock = new ManualClock();
    TokenBucket b = TokenBucket.builder().rate(1, Duration.ofSeconds(1)).burst(1_000)
        .ticker(clock).listener(EventListener.noop()).build();
    AtomicLong granted = new AtomicLong();
    hammer(t -> {
      for (int i = 0; i < 20_000; i++) {
        if (b.tryAcquire()) {
          granted.incrementAndGet();
        }
      }
    });
    assertEquals(1_000, granted.get());
    assertEquals(1_000, b.grantedCount());
    assertEquals(THREADS * 20_000L - 1_000, b.rejectedCount());
  }

  @Test
  void withThreadsMovingTimeGrantsNeverExceedBurstPlusRateTimesElapsed() throws Exception {
    ManualClock clock = new ManualClock(); // instant: waiting callers' sleeps move time too
    long permits = 3;
    long periodNanos = 1_000_000L; // 3 per ms: a fractional interval
    int burst = 50;
    TokenBucket b = TokenBucket.builder().rate(permits, Duration.ofNanos(periodNanos)).burst(burst)
        .ticker(clock).sleeper(clock).listener(EventListener.noop()).build();
    AtomicLong grantedPermits = new AtomicLong();
    hammer(t -> {
      SplittableRandom random = new SplittableRandom(t);
      for (int i = 0; i < 20_000; i++) {
        int n = 1 + random.nextInt(3);
        boolean ok = random.nextInt(10) == 0
            ? b.tryAcquire(n, Duration.ofNanos(random.nextLong(1_000_000)))
            : b.acquireOrRetryAfterNanos(n) == 0;
        if (ok) {
          grantedPermits.addAndGet(n);
        }
        clock.advanceNanos(random.nextLong(2_000));
      }
    });
    long elapsed = clock.read();
    long bound = burst + elapsed * permits / periodNanos;
    assertTrue(grantedPermits.get() <= bound, grantedPermits.get() + " > " + bound);
    // And the limiter is not stingy either: time moved ~80 ms, worth ~240 permits, all requested.
    assertTrue(grantedPermits.get() >= elapsed * permits / periodNanos / 2, "granted " + grantedPermits.get());
  }

  @Test
  void aKeyedLimiterUnderContentionKeepsEveryKeyWithinItsBoundAndTheTableWithinMaxKeys() throws Exception {
    ManualClock clock = new ManualClock();
    int keys = 160; // 10 phases of 16 hot keys each: old keys go idle, refill and can be evicted
    int maxKeys = 16;
    KeyedTokenBucket<Integer> l = KeyedTokenBucket.builder().rate(1, Duration.ofMillis(1)).burst(3).maxKeys(maxKeys)
        .ticker(clock).sleeper(clock).listener(EventListener.noop()).build();
    AtomicLongArray perKey = new AtomicLongArray(keys);
    AtomicLong maxSeen = new AtomicLong();
    hammer(t -> {
      SplittableRandom random = new SplittableRandom(100 + t);
      for (int i = 0; i < 20_000; i++) {
        int key = (i / 2_000) * 16 + random.nextInt(16);
        if (l.tryAcquire(key)) {
          perKey.incrementAndGet(key);
        }
        maxSeen.accumulateAndGet(l.size(), Math::max);
        if ((i & 7) == 0) {
          clock.advanceNanos(random.nextLong(20_000));
        }
      }
    });
    long bound = 3 + clock.read() / 1_000_000L;
    for (int k = 0; k < keys; k++) {
      assertTrue(perKey.get(k) <= bound, "key " + k + ": " + perKey.get(k) + " > " + bound);
    }
    assertTrue(maxSeen.get() <= maxKeys, "size reached " + maxSeen.get());
    assertTrue(l.evictedCount() > 0, "the table turned over");
  }

  @Test
  void queuedCallersLeaveOneIntervalApartInArrivalOrderOfTheirTurns() throws Exception {
    ManualClock clock = ManualClock.blocking();
    LeakyBucketShaper q = LeakyBucketShaper.builder().rate(4, Duration.ofSeconds(1)).maxQueueDelay(Duration.ofSeconds(10))
        .ticker(clock).sleeper(clock).listener(EventListener.noop()).build();
    List<Long> leftAt = java.util.Collections.synchronizedList(new ArrayList<>());
    CountDownLatch done = new CountDownLatch(THREADS);
    for (int t = 0; t < THREADS; t++) {
      pool.submit(() -> {
        try {
          q.acquire(1);
          leftAt.add(clock.read());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } finally {
          done.countDown();
        }
        return null;
      });
    }
    // All but the first are asleep at t = 0 waiting for turns 250 ms, 500 ms, ... 1750 ms.
    assertTrue(clock.awaitSleepers(THREADS - 1, Duration.ofSeconds(10)));
    List<Duration> waits = new ArrayList<>(clock.sleeps());
    waits.sort(null);
    for (int i = 0; i < waits.size(); i++) {
      assertEquals(Duration.ofMillis(250L * (i + 1)), waits.get(i));
    }
    // Release them one turn at a time; each wakes exactly at its turn.
    for (int i = 1; i < THREADS; i++) {
      clock.advance(Duration.ofMillis(250));
    }
    assertTrue(done.await(10, TimeUnit.SECONDS));
    assertEquals(THREADS, leftAt.size());
    assertTrue(leftAt.stream().allMatch(at -> at <= 1_750_000_000L));
  }

  @Test
  void aWaiterInterruptedWhileOthersQueuedBehindItForfeitsItsTurn() throws Exception {
    ManualClock clock = ManualClock.blocking();
    TokenBucket b = TokenBucket.builder().rate(1, Duration.ofSeconds(1)).burst(1)
        .ticker(clock).sleeper(clock).listener(EventListener.noop()).build();
    assertTrue(b.tryAcquire());
    AtomicReference<Throwable> first = new AtomicReference<>();
    Thread waiter = new Thread(() -> {
      try {
        b.tryAcquire(1, Duration.ofSeconds(10)); // reserved for t = 1 s
      } catch (Throwable e) {
        first.set(e);
      }
    });
    waiter.start();
    assertTrue(clock.awaitSleepers(1, Duration.ofSeconds(10)));
    Future<Boolean> second = pool.submit(() -> b.tryAcquire(1, Duration.ofSeconds(10))); // t = 2 s
    assertTrue(clock.awaitSleepers(2, Duration.ofSeconds(10)));
    waiter.interrupt();
    waiter.join(10_000);
    assertFalse(waiter.isAlive());
    assertTrue(first.get() instanceof InterruptedException);
    // Someone reserved behind it, so its permit stays consumed: nothing before t = 3 s for newcomers.
    assertEquals(3_000_000_000L, b.acquireOrRetryAfterNanos(1));
    clock.advance(Duration.ofSeconds(2));
    assertTrue(second.get(10, TimeUnit.SECONDS));
    assertEquals(1_000_000_000L, b.acquireOrRetryAfterNanos(1));
  }

  @Test
  void aWaiterInterruptedAtTheEndOfTheQueueGivesItsReservationBack() throws Exception {
    ManualClock clock = ManualClock.blocking();
    TokenBucket b = TokenBucket.builder().rate(1, Duration.ofSeconds(1)).burst(1)
        .ticker(clock).sleeper(clock).listener(EventListener.noop()).build();
    assertTrue(b.tryAcquire());
    Future<Boolean> waiter = pool.submit(() -> b.tryAcquire(1, Duration.ofSeconds(10)));
    assertTrue(clock.awaitSleepers(1, Duration.ofSeconds(10)));
    waiter.cancel(true); // interrupts the sleeping thread
    assertThrows(java.util.concurrent.CancellationException.class, waiter::get);
    // Wait until the interrupted task has finished, giving the permit back on its way out.
    pool.shutdown();
    assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    assertEquals(1_000_000_000L, b.acquireOrRetryAfterNanos(1), "due at 1 s again, as before the reservation");
  }

  /**
   * Rate changes racing with grants lose nothing and invent nothing: on a frozen clock (no refill)
   * a bucket of 1,000 permits grants at most 1,000 however often its rate changes under the
   * grants, and at least 1,000 minus one per change (each change may round the debt up by less
   * than one time unit of the new rate, never down).
   */
  @Test
  void rateChangesRacingWithGrantsNeverGrantMoreThanTheBucketHeld() throws Exception {
    ManualClock clock = new ManualClock();
    TokenBucket b = TokenBucket.builder().rate(3, Duration.ofSeconds(1)).burst(1_000)
        .ticker(clock).listener(EventListener.noop()).build();
    AtomicLong granted = new AtomicLong();
    AtomicLong changes = new AtomicLong();
    Rate[] rates = {Rate.of(7, Duration.ofSeconds(3)), Rate.of(1_000_003, Duration.ofSeconds(1)),
        Rate.of(3, Duration.ofSeconds(1)), Rate.of(1, Duration.ofHours(1))};
    hammer(t -> {
      for (int i = 0; i < 2_000; i++) {
        if (t == 0 && i % 10 == 0) {
          b.setRate(rates[(i / 10) % rates.length]);
          changes.incrementAndGet();
        } else if (b.tryAcquire()) {
          granted.incrementAndGet();
        }
      }
    });
    assertTrue(granted.get() <= 1_000, "granted " + granted.get());
    assertTrue(granted.get() >= 1_000 - changes.get(), "granted " + granted.get() + " after " + changes + " changes");
    assertEquals(granted.get(), b.grantedCount());
  }
}
