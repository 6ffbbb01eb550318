package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.RejectedException;
import java.io.IOException;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** The reconnect decisions without threads: a session driven by hand, time passed as numbers. */
class ReconnectPlanTest {

  private static final long SECOND = 1_000_000_000L;
  private static final IOException PLAIN = new IOException("refused");

  private static Reconnector.Builder<Reconnector.Connection> builder() {
    return Reconnector.builder(() -> {
      throw new IOException("never called: a plan is pure");
    });
  }

  /** A plan with exact backoff delays 1 s, 2 s, 4 s, ... and a 10 s spread. */
  private static ReconnectPlan plan() {
    return builder().backoff(Backoff.exponential(Duration.ofSeconds(1), 2.0, Duration.ofMinutes(5)))
        .initialSpread(Duration.ofSeconds(10)).stableAfter(Duration.ofSeconds(30)).build().plan();
  }

  private static RejectedException slot(long nanos) {
    return new RejectedException("connect", "your slot", nanos, true);
  }

  private static RejectedException shared(long nanos) {
    return new RejectedException("connect", "come back later", nanos, false);
  }

  @Test
  void theDefaultsAreWhatAHubThatKnowsNothingWouldChoose() {
    ReconnectPlan plan = builder().build().plan();
    assertEquals(Duration.ofSeconds(5), plan.initialSpread());
    assertEquals(Duration.ofSeconds(30), plan.stableAfter());
    assertEquals(Duration.ofSeconds(20), plan.connectTimeout());
    // full jitter from 1 s to 2 minutes: no draw ever exceeds the cap
    Backoff.Schedule schedule = plan.backoff().start(new SplittableRandom(1));
    for (int i = 0; i < 100; i++) {
      assertTrue(schedule.nextDelayNanos() <= 120 * SECOND);
    }
    // a shared hint of three hours is honoured only up to one hour, plus at most 20 %
    ReconnectPlan.Session session = plan.newSession(new SplittableRandom(2));
    session.start(0);
    long wait = session.connectFailed(0, shared(3 * 3600 * SECOND));
    assertTrue(wait >= 3600 * SECOND && wait <= 4320 * SECOND, Long.toString(wait));
  }

  @Test
  void startDrawsFromTheSpreadAndTheSameSeedDrawsTheSame() {
    ReconnectPlan plan = plan();
    long first = plan.newSession(new SplittableRandom(7)).start(0);
    assertEquals(first, plan.newSession(new SplittableRandom(7)).start(123));
    assertTrue(first >= 0 && first <= 10 * SECOND);
  }

  @Test
  void plainFailuresFollowTheBackoff() {
    ReconnectPlan.Session session = plan().newSession(new SplittableRandom(1));
    session.start(0);
    assertEquals(SECOND, session.connectFailed(0, PLAIN));
    assertEquals(2 * SECOND, session.connectFailed(0, PLAIN));
    assertEquals(4 * SECOND, session.connectFailed(0, PLAIN));
    assertNull(session.lastRefusal());
  }

  @Test
  void aPersonalSlotIsKeptWithinItsJitterAndLeavesTheBackoffWhereItWas() {
    ReconnectPlan.Session session = plan().newSession(new SplittableRandom(1));
    session.start(0);
    assertEquals(SECOND, session.connectFailed(0, PLAIN));
    RejectedException refusal = slot(42 * SECOND);
    for (int i = 0; i < 1_000; i++) {
      long wait = session.connectFailed(0, new CompletionException(refusal));
      assertTrue(wait >= 42 * SECOND && wait <= 42 * SECOND + 100_000_000L, Long.toString(wait));
      assertSame(refusal, session.lastRefusal(), "found in the cause chain");
    }
    assertEquals(2 * SECOND, session.connectFailed(0, PLAIN), "the slots did not grow the backoff");
  }

  @Test
  void aSlotShorterThanTheBackoffIsStillKept() {
    ReconnectPlan.Session session = plan().newSession(new SplittableRandom(1));
    session.start(0);
    for (int i = 0; i < 6; i++) {
      session.connectFailed(0, PLAIN); // the backoff is at 64 s now
    }
    long wait = session.connectFailed(0, slot(SECOND));
    assertTrue(wait >= SECOND && wait <= SECOND + 100_000_000L, Long.toString(wait));
  }

  @Test
  void aSharedHintIsTheLongerOfTheGrownBackoffAndTheHintWithProportionalJitter() {
    ReconnectPlan.Session session = plan().newSession(new SplittableRandom(1));
    session.start(0);
    long wait = session.connectFailed(0, shared(30 * SECOND));
    assertTrue(wait >= 30 * SECOND && wait <= 36 * SECOND, Long.toString(wait));
    assertEquals(2 * SECOND, session.connectFailed(0, PLAIN), "the shared hint grew the backoff (1 s used)");
    for (int i = 0; i < 5; i++) {
      session.connectFailed(0, PLAIN); // 4 s ... 64 s
    }
    assertEquals(128 * SECOND, session.connectFailed(0, shared(SECOND)), "the backoff is the longer");
  }

  @Test
  void aSlotBeyondTheLargestHintIsClamped() {
    ReconnectPlan plan = builder().maxRetryAfter(Duration.ofMinutes(10)).slotJitter(Duration.ZERO).build().plan();
    ReconnectPlan.Session session = plan.newSession(new SplittableRandom(1));
    session.start(0);
    assertEquals(600 * SECOND, session.connectFailed(0, slot(7200 * SECOND)));
  }

  @Test
  void aStableConnectionResetsTheBackoffAndAFlappingOneDoesNot() {
    ReconnectPlan.Session session = plan().newSession(new SplittableRandom(3));
    session.start(0);
    session.connectFailed(0, PLAIN);
    session.connectFailed(0, PLAIN); // 1 s, 2 s used
    session.connected(100 * SECOND);
    long flap = session.lost(101 * SECOND, null);
    assertTrue(flap >= 4 * SECOND && flap <= 10 * SECOND, "max(spread draw, 4 s): " + flap);
    session.connected(200 * SECOND);
    long stable = session.lost(230 * SECOND, null);
    assertTrue(stable >= 0 && stable <= 10 * SECOND);
    assertEquals(SECOND, session.connectFailed(230 * SECOND, PLAIN), "a fresh backoff after a stable connection");
  }

  @Test
  void aLossCarryingASlotKeepsTheSlotAndALossCarryingAHintHonoursIt() {
    ReconnectPlan.Session session = plan().newSession(new SplittableRandom(4));
    session.start(0);
    session.connected(0);
    long slotWait = session.lost(0, slot(90 * SECOND));
    assertTrue(slotWait >= 90 * SECOND && slotWait <= 90 * SECOND + 100_000_000L, Long.toString(slotWait));
    assertEquals(SECOND, session.connectFailed(0, PLAIN), "the slot did not grow the backoff");
    session.connected(0);
    long hintWait = session.lost(0, shared(60 * SECOND));
    assertTrue(hintWait >= 60 * SECOND && hintWait <= 72 * SECOND, Long.toString(hintWait));
  }

  @Test
  void connectingForgetsTheLastRefusal() {
    ReconnectPlan.Session session = plan().newSession(new SplittableRandom(5));
    session.start(0);
    RejectedException refusal = slot(SECOND);
    session.connectFailed(0, refusal);
    assertSame(refusal, session.lastRefusal());
    session.connected(0);
    assertNull(session.lastRefusal());
  }

  @Test
  void aSessionNeedsARandomGenerator() {
    assertThrows(NullPointerException.class, () -> plan().newSession(null));
  }
}
