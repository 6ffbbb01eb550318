package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.core.Ticker;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The non-waiting acquire reads the ticker before the state (see "Clock first" in Gcra's design
 * note), so under contention it may decide against a state written by a thread whose reading was
 * later than its own. These tests replay that race deterministically: the ticker hands out one
 * reading that is older than the readings the state was written from, exactly what the racing
 * thread sees.
 */
class GcraClockFirstTest {

  private static final long HOUR = TimeUnit.HOURS.toNanos(1);

  /** A ticker standing at {@code now}, whose next reading can be made {@code staleBy} ns older once. */
  private static final class RacingTicker implements Ticker {
    long now = 1_000_000L;
    long staleBy;

    @Override
    public long read() {
      long reading = now - staleBy;
      staleBy = 0;
      return reading;
    }
  }

  private static TokenBucket hourly(RacingTicker ticker) {
    // One permit per hour, burst 1: tau = 1 h, and reservations may queue up to H = 2 h of debt.
    return TokenBucket.builder().name("race").rate(1, Duration.ofHours(1)).burst(1)
        .ticker(ticker).sleeper(d -> { }).listener(EventListener.noop()).build();
  }

  @Test
  void aStaleReadingAgainstAFresherStateOnlyLengthensTheWaitByTheStaleness() {
    RacingTicker ticker = new RacingTicker();
    TokenBucket b = hourly(ticker);
    assertTrue(b.tryAcquire()); // TAT = now + 1 h: empty
    ticker.staleBy = 7;
    // From a reading 7 ns older, the debt looks 7 ns larger: refused, told to come back 1 h + 7 ns
    // after that reading, which is the same instant as 1 h after the fresh one.
    assertEquals(HOUR + 7, b.acquireOrRetryAfterNanos(1));
    assertEquals(HOUR, b.acquireOrRetryAfterNanos(1));
    assertEquals(1, b.grantedCount());
  }

  @Test
  void aStaleReadingThatMakesTheDebtLookBeyondTheHorizonIsDecidedStateFirstAndNeverGrants()
      throws InterruptedException {
    RacingTicker ticker = new RacingTicker();
    TokenBucket b = hourly(ticker);
    assertTrue(b.tryAcquire());                                   // debt 1 h
    assertTrue(b.tryAcquire(1, Duration.ofHours(2)));             // reserved 1 h ahead: debt 2 h = H
    ticker.staleBy = 1;
    // Seen from a reading 1 ns older, the debt is H + 1: indistinguishable from an ancient, wrapped
    // state that would read as a full bucket. Deciding it so would grant a third permit within an
    // hour; the state-first retry reads the ticker again and refuses with the exact wait.
    assertEquals(2 * HOUR, b.acquireOrRetryAfterNanos(1));
    assertEquals(2, b.grantedCount());
    assertEquals(1, b.rejectedCount());
  }

  @Test
  void aStaleReadingNeverGrantsWhatTheFreshStateForbids() {
    RacingTicker ticker = new RacingTicker();
    TokenBucket b = TokenBucket.builder().name("race").rate(1, Duration.ofNanos(100)).burst(3)
        .ticker(ticker).listener(EventListener.noop()).build();
    long granted = 0;
    for (int i = 0; i < 10_000; i++) {
      ticker.now += 37;
      ticker.staleBy = i % 5 == 0 ? 50 : 0; // every fifth call raced a fresher grant by 50 ns
      if (b.acquireOrRetryAfterNanos(1) == 0) {
        granted++;
      }
    }
    // burst + rate x elapsed, elapsed = 10,000 x 37 ns: the bound of the ideal bucket.
    long bound = 3 + 10_000L * 37 / 100;
    assertTrue(granted <= bound, granted + " > " + bound);
    assertTrue(granted >= bound - 1_000, "not stingy either: " + granted);
  }
}
