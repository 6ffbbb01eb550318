package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.testing.RecordingListener;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LearnedRateTest {

  private final ManualClock clock = ManualClock.instant();
  private final RecordingListener events = new RecordingListener();

  private LearnedRate rate(double guess) {
    return LearnedRate.builder().name("db").initialPermitsPerSecond(guess).ticker(clock).listener(events).build();
  }

  /** One 200 ms period with {@code count} completions, each with {@code delayMillis} of queueing. */
  private static void period(ManualClock clock, LearnedRate rate, int count, long delayMillis, boolean refused) {
    for (int i = 0; i < count; i++) {
      rate.completed(delayMillis * 1_000_000L);
    }
    if (refused) {
      rate.saturated();
    }
    clock.advance(Duration.ofMillis(200));
    rate.poll(clock.read());
  }

  @Test
  void aLowGuessDoublesWhileCallersAreRefusedAndTheBackendKeepsUp() {
    LearnedRate rate = rate(100);
    period(clock, rate, 20, 1, true); // 100/s completed, refused: 2 × min(100, 100)
    assertEquals(200, rate.permitsPerSecond(), 1e-9);
    period(clock, rate, 40, 1, true);
    assertEquals(400, rate.permitsPerSecond(), 1e-9);
    period(clock, rate, 80, 1, false); // nobody refused: no need to grow
    assertEquals(400, rate.permitsPerSecond(), 1e-9);
    assertTrue(rate.isRampingUp());
    Event first = events.events().get(0);
    assertEquals(Event.Kind.LIMIT_CHANGED, first.kind());
    assertEquals(100, first.limitBefore());
    assertEquals(200, first.limitAfter());
    assertEquals("ramp-up", first.detail());
  }

  @Test
  void congestionCutsToNinetyPercentOfWhatCompletedAndDrainsTheQueueSeen() {
    LearnedRate rate = rate(20_000);
    period(clock, rate, 400, 2_000, true); // 2,000/s completed, the queue 2 s deep
    assertEquals(1_800, rate.permitsPerSecond(), 1e-6);
    assertEquals(2_000 * 0.5, rate.drainingPermitsPerSecond(), 1e-6); // max(0.5, 0.9 - 2 s / 4 s)
    assertFalse(rate.isRampingUp());
    assertEquals(1, rate.congestedPeriods());
    period(clock, rate, 400, 200, false); // 2,000/s, 200 ms deep: still congested
    assertEquals(2_000 * (0.9 - 0.05), rate.drainingPermitsPerSecond(), 1e-6);
    period(clock, rate, 400, 1, false); // calm: probe 2 % up, at most 1.1 × 2,000
    assertEquals(1_800 * 1.02, rate.permitsPerSecond(), 1e-6);
    assertEquals(rate.permitsPerSecond(), rate.drainingPermitsPerSecond(), 1e-9);
    assertEquals("congestion", events.events().get(0).detail());
  }

  @Test
  void anExplicitSignalCongestsThePeriodAndAPeriodWithoutCompletionsChangesNothing() {
    LearnedRate rate = rate(1_000);
    rate.congested();
    period(clock, rate, 100, 0, false); // 500/s
    assertEquals(450, rate.permitsPerSecond(), 1e-6);
    period(clock, rate, 0, 0, true);
    assertEquals(450, rate.permitsPerSecond(), 1e-6);
  }

  @Test
  void aBackendThatCompletesNothingWhileCongestedLeavesTheMinimum() {
    LearnedRate rate = LearnedRate.builder().initialPermitsPerSecond(1_000).minPermitsPerSecond(5)
        .ticker(clock).listener(EventListener.noop()).build();
    rate.congested();
    period(clock, rate, 0, 0, false);
    assertEquals(5, rate.permitsPerSecond(), 1e-9);
  }

  @Test
  void badConfigurationIsRefusedNamingTheParameter() {
    assertMessage("initialPermitsPerSecond must be positive and at most 10^9: 0.0",
        () -> LearnedRate.builder().initialPermitsPerSecond(0));
    assertMessage("minPermitsPerSecond must be positive and at most 10^9: -1.0",
        () -> LearnedRate.builder().minPermitsPerSecond(-1));
    assertMessage("maxPermitsPerSecond must be positive and at most 10^9: NaN",
        () -> LearnedRate.builder().maxPermitsPerSecond(Double.NaN));
    assertMessage("period must be between 10 ms and 1 minute: PT0.001S",
        () -> LearnedRate.builder().period(Duration.ofMillis(1)));
    assertMessage("startupHorizon must be at most 1 minute: PT2M",
        () -> LearnedRate.builder().startupHorizon(Duration.ofMinutes(2)));
    assertThrows(IllegalArgumentException.class, () -> LearnedRate.builder().queueDelayTarget(Duration.ZERO));
    assertMessage("minPermitsPerSecond must be at most maxPermitsPerSecond (10.0): 20.0",
        () -> LearnedRate.builder().initialPermitsPerSecond(1).minPermitsPerSecond(20).maxPermitsPerSecond(10).build());
    assertThrows(IllegalStateException.class, () -> LearnedRate.builder().build());
  }

  private static void assertMessage(String message, org.junit.jupiter.api.function.Executable call) {
    assertEquals(message, assertThrows(IllegalArgumentException.class, call).getMessage());
  }
}
