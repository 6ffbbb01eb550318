package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Slot admission following a {@link LearnedRate}: the startup horizon, the gate, the builder. */
class SlotAdmissionLearnedTest {

  private static final long MS = 1_000_000L;
  private static final byte[] KEY = "sixteen byte key".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private final SlotClock clock = new SlotClock(Long.MAX_VALUE - 100_000 * MS, 1_700_000_000_000L);

  private LearnedRate rate(double guess) {
    return LearnedRate.builder().initialPermitsPerSecond(guess).ticker(clock).listener(EventListener.noop()).build();
  }

  private SlotAdmission admission(LearnedRate rate, double share) {
    return SlotAdmission.builder().name("connect").learnedRate(rate, share).ticketKey(KEY).ticker(clock)
        .clock(clock).listener(EventListener.noop()).build();
  }

  /** Ends the current 200 ms period with {@code count} completions of {@code delayMillis} queueing. */
  private void period(LearnedRate rate, int count, long delayMillis) {
    for (int i = 0; i < count; i++) {
      rate.completed(delayMillis * MS);
    }
    clock.advance(200 * MS);
    rate.poll(clock.read());
  }

  @Test
  void whileRampingUpSlotsReachOnlyTheStartupHorizon() {
    LearnedRate rate = rate(1_000); // share 1/2: 500/s, interval 2 ms; burst 100 ms, startup horizon 200 ms
    SlotAdmission admission = admission(rate, 0.5);
    int admitted = 0;
    int slots = 0;
    int shared = 0;
    for (int caller = 0; caller < 1_000; caller++) {
      try {
        admission.acquire(caller);
        admitted++;
      } catch (SlotRefusedException refused) {
        if (refused.isPersonalSlot()) {
          slots++;
          assertTrue(refused.retryAfterNanos() <= 200 * MS, "slot at " + refused.retryAfterNanos());
        } else {
          shared++;
          assertTrue(refused.ticket().isEmpty());
        }
      }
    }
    assertEquals(50, admitted); // 100 ms at 500/s
    assertEquals(100, slots);   // 200 ms ahead at 500/s
    assertEquals(850, shared);
    // Once congestion was seen the configured horizon (an hour) applies.
    period(rate, 200, 500); // 1,000/s completed, 500 ms of queueing: 900/s, 450/s here
    assertFalse(rate.isRampingUp());
    SlotRefusedException far = null;
    for (int caller = 0; caller < 2_000; caller++) {
      try {
        admission.acquire(10_000 + caller);
      } catch (SlotRefusedException refused) {
        far = refused;
      }
    }
    assertTrue(far != null && far.isPersonalSlot() && far.retryAfterNanos() > 4_000 * MS, "slot " + far);
  }

  @Test
  void ticketsBookedBeforeACutAreMeteredAtTheNewRateAndTheRestGetNewSlots() {
    LearnedRate rate = rate(1_000);
    SlotAdmission admission = admission(rate, 1.0);
    period(rate, 200, 100); // congested at 1,000/s: rate 900/s, draining 875/s
    List<SlotTicket> tickets = new ArrayList<>();
    List<Long> due = new ArrayList<>();
    for (int caller = 0; caller < 1_800; caller++) { // about 2 s of slots at 900/s
      try {
        admission.acquire(caller);
        tickets.add(null);
        due.add(0L);
      } catch (SlotRefusedException refused) {
        tickets.add(refused.ticket().orElseThrow());
        due.add(clock.read() + refused.retryAfterNanos());
      }
    }
    // The backend fails over to half: 450/s completed with a long queue. Rate 405/s, draining 225/s.
    period(rate, 90, 2_000);
    double draining = rate.drainingPermitsPerSecond();
    assertEquals(225, draining, 1e-6);
    long from = clock.read();
    int honoured = 0;
    int reslotted = 0;
    for (int caller = 0; caller < tickets.size(); caller++) {
      if (tickets.get(caller) == null || due.get(caller) < from) {
        continue;
      }
      clock.advance(due.get(caller) - clock.read() + MS);
      try {
        admission.acquire(caller, tickets.get(caller));
        honoured++;
      } catch (SlotRefusedException refused) {
        reslotted++;
        assertTrue(refused.isPersonalSlot() && refused.ticket().isPresent(), "a new slot, not a shared hint");
      }
      if (clock.read() - from > 190 * MS) {
        break; // stay inside one period: the rate does not change
      }
    }
    long elapsed = clock.read() - from;
    // The gate: at most its tolerance (200 ms) plus the elapsed time at 225/s, plus one.
    assertTrue(honoured <= (200 * MS + elapsed) * draining / 1e9 + 1, honoured + " honoured in " + elapsed);
    assertTrue(reslotted > 0);
    assertEquals(reslotted, admission.reissuedCount());
  }

  @Test
  void aLearnedRateExcludesAConfiguredOneAndTheShareIsValidated() {
    LearnedRate rate = rate(100);
    assertEquals("share must be in (0, 1]: 0.0",
        assertThrows(IllegalArgumentException.class, () -> SlotAdmission.builder().learnedRate(rate, 0))
            .getMessage());
    assertThrows(IllegalArgumentException.class, () -> SlotAdmission.builder().learnedRate(rate, 1.5));
    assertThrows(IllegalStateException.class,
        () -> SlotAdmission.builder().permitsPerSecond(10).learnedRate(rate, 1).build());
    assertThrows(NullPointerException.class, () -> SlotAdmission.builder().learnedRate(null, 1));
  }
}
