package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.shepherd.core.EventListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * The slot admission's proofs, each against an ideal model: a token bucket whose credit may go
 * negative by reservations, formulated independently of the implementation's arrival time.
 *
 * <p>Each try draws a configuration (rate, headroom, burst, horizon, grace, ticker origin, also
 * across the long overflow) and a storm from a seed: fresh callers in bursts and lulls, and every
 * refused caller coming back with its ticket early, within its window, after it, tampered with, or
 * presenting another caller's ticket. Every answer must equal the model's: a valid ticket admits
 * without touching the model, any other ticket changes nothing (the caller is decided as without
 * one). Then the bounds: no window of length d holds more than {@code burst + d / I} admissions
 * and slots counted at their decided instants, nor more than {@code burst + (d + grace + 3 ms) / I}
 * admissions counted when they happen; slots are at least {@code I} apart.
 */
class SlotAdmissionProperties {

  private static final long MS = 1_000_000L;
  private static final byte[] KEY = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

  /** The ideal: credit in nanoseconds of interval, at most burst × I, negative when slots are booked. */
  static final class Model {
    final long interval;
    final long burst;
    final long horizon;
    long credit;
    long last;

    Model(long interval, long burst, long horizon, long start) {
      this.interval = interval;
      this.burst = burst;
      this.horizon = horizon;
      this.credit = burst * interval;
      this.last = start;
    }

    /** 0: admitted; positive: the slot's wait; -1: beyond the horizon (nothing booked). */
    long decide(long now) {
      credit = Math.min(burst * interval, credit + (now - last));
      last = now;
      if (credit >= interval) {
        credit -= interval;
        return 0;
      }
      long wait = interval - credit;
      if (wait > horizon) {
        return -1;
      }
      credit -= interval;
      return wait;
    }
  }

  /** A refused caller's return: when, who, with which ticket, and whether it should be honoured. */
  record Return(long at, long caller, SlotTicket ticket, boolean genuine) {}

  @Property(tries = 300)
  void everyAnswerIsTheModelsAndNoWindowHoldsMoreThanTheRateAllows(
      @ForAll @LongRange(min = 0, max = Long.MAX_VALUE) long seed,
      @ForAll("rates") double rate,
      @ForAll @DoubleRange(min = 0.0, max = 0.1) double headroom,
      @ForAll @IntRange(min = 1, max = 40) int burst,
      @ForAll @IntRange(min = 1, max = 400) int graceMillis,
      @ForAll boolean nearOverflow) {
    SplittableRandom random = new SplittableRandom(seed);
    long origin = nearOverflow ? Long.MAX_VALUE - random.nextLong(1_000_000_000L) : random.nextLong();
    SlotClock clock = new SlotClock(origin, 1_600_000_000_000L + random.nextLong(1_000_000_000L));
    // A horizon of 5 to 200 intervals: long storms overflow it
    long horizon = Math.max(MS, (long) (1e9 / rate * (5 + random.nextInt(200))));
    SlotAdmission admission = SlotAdmission.builder().permitsPerSecond(rate).headroom(headroom).burst(burst)
        .horizon(Duration.ofNanos(horizon)).grace(Duration.ofMillis(graceMillis)).ticketKey(KEY)
        .ticker(clock).clock(clock).listener(EventListener.noop()).build();
    long interval = admission.interval().toNanos();
    Model model = new Model(interval, burst, horizon, 0);
    long graceNanos = graceMillis * MS;

    List<Long> decided = new ArrayList<>(); // admissions at their instant, slots at their reserved instant
    List<Long> arrived = new ArrayList<>(); // admissions and redemptions when they happen
    List<Long> slots = new ArrayList<>();
    PriorityQueue<Return> returns = new PriorityQueue<>((a, b) -> Long.compare(a.at(), b.at()));
    long nextCaller = 0;
    int fresh = 600 + random.nextInt(600);
    long nextFreshAt = 0;
    while (fresh > 0 || !returns.isEmpty()) {
      boolean freshFirst = !returns.isEmpty() ? fresh > 0 && nextFreshAt <= returns.peek().at() : true;
      long at = freshFirst ? nextFreshAt : returns.peek().at();
      clock.advance(at - clock.elapsed());
      long caller;
      SlotTicket ticket = null;
      boolean genuine = false;
      if (freshFirst) {
        fresh--;
        caller = nextCaller++;
        // bursts (several callers in one instant) and lulls of up to a few intervals
        nextFreshAt = at + (random.nextInt(3) == 0 ? 0 : random.nextLong(4 * interval + 1));
      } else {
        Return r = returns.poll();
        caller = r.caller();
        ticket = r.ticket();
        genuine = r.genuine();
      }
      long now = clock.elapsed();
      // What the implementation must do: a genuine ticket inside its window admits, early is
      // refused with the time left, and anything else is decided by the model as a fresh caller.
      if (genuine) {
        long late = clock.millis() - ticket.slotEpochMillis();
        if (late >= 0 && late < graceMillis) {
          admission.acquire(caller, ticket);
          arrived.add(now);
          continue;
        }
        if (late < 0) {
          try {
            admission.acquire(caller, ticket);
            fail("an early ticket was admitted");
          } catch (SlotRefusedException early) {
            assertTrue(early.isPersonalSlot());
            assertEquals(-late * MS, early.retryAfterNanos());
            assertEquals(ticket, early.ticket().orElseThrow());
          }
          returns.add(new Return(at + -late * MS + random.nextLong(graceNanos), caller, ticket, true));
          continue;
        }
      }
      long expected = model.decide(now);
      try {
        admission.acquire(caller, ticket);
        assertEquals(0, expected, "admitted, but the model says " + expected);
        decided.add(now);
        arrived.add(now);
      } catch (SlotRefusedException refused) {
        if (expected == -1) {
          assertFalse(refused.isPersonalSlot(), "beyond the horizon: a shared hint");
          continue;
        }
        assertTrue(expected > 0, "refused, but the model admits");
        assertTrue(refused.isPersonalSlot());
        long waitMillis = (expected + MS - 1) / MS;
        assertEquals(waitMillis * MS, refused.retryAfterNanos(), "the model's slot, rounded up to the ms");
        decided.add(now + expected);
        slots.add(now + expected);
        SlotTicket issued = refused.ticket().orElseThrow();
        long back = at + refused.retryAfterNanos();
        switch (random.nextInt(6)) {
          case 0: // early, by up to half a second
            returns.add(new Return(Math.max(at, back - 1 - random.nextLong(500 * MS)), caller, issued, true));
            break;
          case 1: // after the window closed
            returns.add(new Return(back + graceNanos + MS + random.nextLong(500 * MS), caller, issued, true));
            break;
          case 2: // tampered: another slot under the same tag
            returns.add(new Return(back, caller,
                new SlotTicket(issued.slotEpochMillis() - 1 - random.nextInt(3), issued.tag()), false));
            break;
          case 3: // another caller presents it
            returns.add(new Return(back, caller + 1_000_000_000L, issued, false));
            break;
          default: // on time, late by up to the grace
            returns.add(new Return(back + random.nextLong(graceNanos + 1), caller, issued, true));
        }
      }
    }
    assertWindows(decided, burst, interval, 0, "decided");
    assertWindows(arrived, burst, interval, graceNanos + 3 * MS, "arrived");
    for (int i = 1; i < slots.size(); i++) {
      assertTrue(slots.get(i) - slots.get(i - 1) >= interval, "slots " + (i - 1) + " and " + i);
    }
  }

  /**
   * Checks that no window of length d holds more than burst + (d + slack) / I of the instants: for
   * sorted instants x, every i < j has x[j] - x[i] >= (j - i + 1 - burst) × I - slack, that is
   * y[j] >= y[i] - (burst - 1) × I - slack with y[k] = x[k] - k × I, so a running maximum of y
   * checks every pair in one pass.
   */
  private static void assertWindows(List<Long> instants, int burst, long interval, long slack, String what) {
    List<Long> sorted = new ArrayList<>(instants);
    Collections.sort(sorted);
    long maxY = Long.MIN_VALUE;
    int argMax = -1;
    for (int k = 0; k < sorted.size(); k++) {
      long y = sorted.get(k) - k * interval;
      if (argMax >= 0 && y < maxY - (burst - 1) * interval - slack) {
        fail(String.format(java.util.Locale.ROOT, "%s: %d in %d ns, more than %d + (d + %d ns) / %d ns",
            what, k - argMax + 1, sorted.get(k) - sorted.get(argMax), burst, slack, interval));
      }
      if (y > maxY) {
        maxY = y;
        argMax = k;
      }
    }
    assertTrue(sorted.size() > burst, what + ": the storm must exceed the burst to prove anything");
  }

  @net.jqwik.api.Provide
  net.jqwik.api.Arbitrary<Double> rates() {
    return net.jqwik.api.Arbitraries.of(3.0, 7.0, 250.0, 1_000.0, 2_000.0, 33_333.0, 1e6 / 7);
  }
}
