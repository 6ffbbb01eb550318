package dev.shepherd.testing;

import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ManualClockTest {

  private static final Duration PATIENCE = Duration.ofSeconds(10);

  @Test
  void startsAtZeroAndAdvancesOnlyWhenTold() {
    ManualClock clock = new ManualClock();
    assertEquals(0, clock.read());
    clock.advance(Duration.ofMillis(1500));
    assertEquals(1_500_000_000L, clock.read());
    clock.advanceNanos(7);
    assertEquals(1_500_000_007L, clock.read());
    assertEquals(Duration.ofNanos(1_500_000_007L), clock.elapsed());
  }

  @Test
  void instantSleepsAdvanceTheClockAndAreRecordedInOrder() throws InterruptedException {
    ManualClock clock = ManualClock.instant();
    clock.sleep(Duration.ofSeconds(1));
    clock.sleep(Duration.ofMillis(250));
    clock.sleep(Duration.ZERO);
    assertEquals(List.of(Duration.ofSeconds(1), Duration.ofMillis(250), Duration.ZERO), clock.sleeps());
    assertEquals(1_250_000_000L, clock.read());
  }

  @Test
  void drainSleepsForgetsWhatItReturns() throws InterruptedException {
    ManualClock clock = new ManualClock();
    clock.sleep(Duration.ofSeconds(2));
    assertEquals(List.of(Duration.ofSeconds(2)), clock.drainSleeps());
    assertEquals(List.of(), clock.sleeps());
  }

  @Test
  void timeSaturatesInsteadOfOverflowing() throws InterruptedException {
    ManualClock clock = ManualClock.startingAt(Long.MAX_VALUE - 10, false);
    clock.advanceNanos(100);
    assertEquals(Long.MAX_VALUE, clock.read());
    clock.sleep(Duration.ofDays(365_000));
    assertEquals(Long.MAX_VALUE, clock.read());
  }

  @Test
  void negativeInputIsRejectedWithTheValue() {
    ManualClock clock = new ManualClock();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> clock.advance(Duration.ofSeconds(-1)));
    assertEquals("duration must be zero or positive: PT-1S", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> clock.advanceNanos(-3));
    assertEquals("nanos must be zero or positive: -3", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> clock.sleep(Duration.ofNanos(-1)));
    assertEquals("duration must be zero or positive: PT-0.000000001S", e.getMessage());
    assertEquals(0, clock.read());
    assertEquals(List.of(), clock.sleeps());
  }

  @Test
  void anInterruptedThreadCannotSleepOnAnInstantClock() {
    ManualClock clock = new ManualClock();
    Thread.currentThread().interrupt();
    assertThrows(InterruptedException.class, () -> clock.sleep(Duration.ofSeconds(1)));
    assertFalse(Thread.currentThread().isInterrupted(), "the interrupt status is cleared, as Thread.sleep does");
    assertEquals(0, clock.read());
  }

  @Test
  @Tag("concurrency")
  @Timeout(30)
  void blockingSleepWakesExactlyWhenAdvancedToTheDeadlineNeverBefore() throws Exception {
    ManualClock clock = ManualClock.blocking();
    AtomicLong wokeAt = new AtomicLong(-1);
    CountDownLatch woke = new CountDownLatch(1);
    Thread sleeper = new Thread(() -> {
      try {
        clock.sleep(Duration.ofSeconds(5));
        wokeAt.set(clock.read());
        woke.countDown();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    sleeper.start();
    assertTrue(clock.awaitSleepers(1, PATIENCE));

    clock.advance(Duration.ofMillis(4999));
    // The sleeper has been signalled; give it every chance to (wrongly) return before we look.
    assertFalse(woke.await(200, TimeUnit.MILLISECONDS), "woke before its deadline");
    assertEquals(1, clock.sleepingThreads());

    clock.advance(Duration.ofMillis(1));
    assertTrue(woke.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS));
    assertEquals(5_000_000_000L, wokeAt.get());
    sleeper.join(PATIENCE.toMillis());
    assertEquals(0, clock.sleepingThreads());
    assertEquals(List.of(Duration.ofSeconds(5)), clock.sleeps());
  }

  @Test
  @Tag("concurrency")
  @Timeout(30)
  void advancingPastSeveralDeadlinesWakesEachSleeperOnce() throws Exception {
    ManualClock clock = ManualClock.blocking();
    CountDownLatch done = new CountDownLatch(3);
    for (int seconds = 1; seconds <= 3; seconds++) {
      Duration d = Duration.ofSeconds(seconds);
      Thread t = new Thread(() -> {
        try {
          clock.sleep(d);
          done.countDown();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      t.start();
    }
    assertTrue(clock.awaitSleepers(3, PATIENCE));
    clock.advance(Duration.ofSeconds(2));
    assertTrue(waitUntil(() -> done.getCount() == 1));
    assertEquals(1, clock.sleepingThreads());
    clock.advance(Duration.ofSeconds(10));
    assertTrue(done.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS));
    assertEquals(12_000_000_000L, clock.read(), "sleeping on a blocking clock never moves it");
  }

  @Test
  @Tag("concurrency")
  @Timeout(30)
  void interruptDuringBlockingSleepThrowsAndChangesNothingElse() throws Exception {
    ManualClock clock = ManualClock.blocking();
    AtomicReference<Throwable> outcome = new AtomicReference<>();
    CountDownLatch interruptedOneDone = new CountDownLatch(1);
    Thread victim = new Thread(() -> {
      try {
        clock.sleep(Duration.ofSeconds(10));
        outcome.set(new AssertionError("returned normally"));
      } catch (InterruptedException e) {
        outcome.set(e);
      }
      interruptedOneDone.countDown();
    });
    CountDownLatch bystanderDone = new CountDownLatch(1);
    Thread bystander = new Thread(() -> {
      try {
        clock.sleep(Duration.ofSeconds(3));
        bystanderDone.countDown();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    victim.start();
    bystander.start();
    assertTrue(clock.awaitSleepers(2, PATIENCE));

    victim.interrupt();
    assertTrue(interruptedOneDone.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS));
    assertInstanceOf(InterruptedException.class, outcome.get());
    assertEquals(0, clock.read(), "the clock keeps its reading");
    assertEquals(1, clock.sleepingThreads(), "the other sleeper keeps sleeping");
    assertEquals(2, clock.sleeps().size(), "both requests stay recorded");

    clock.advance(Duration.ofSeconds(3));
    assertTrue(bystanderDone.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS));
  }

  @Test
  void awaitSleepersTimesOutWhenNobodySleeps() throws InterruptedException {
    assertFalse(ManualClock.blocking().awaitSleepers(1, Duration.ofMillis(20)));
    assertTrue(ManualClock.blocking().awaitSleepers(0, Duration.ZERO));
  }

  private static boolean waitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.onSpinWait();
      Thread.yield();
    }
    return true;
  }
}
