package dev.shepherd.ratelimit;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Ticker;
import dev.shepherd.core.internal.Checks;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Reconnect-slot admission: admits callers at a steady rate and hands each caller it refuses its own
 * place in line, a <em>personal slot</em> with a ticket, so a refused fleet comes back as a smooth
 * stream at exactly the rate that will be admitted instead of as a cohort told "come back in a
 * second".
 *
 * <pre>{@code
 * SlotAdmission admission = SlotAdmission.builder()
 *     .name("connect")
 *     .permitsPerSecond(250)                  // this server's share of what the database serves
 *     .ticketKey(sharedKey)                   // 16 bytes every connect server knows
 *     .build();
 * try {
 *   admission.acquire(deviceKey, SlotTicket.parse(request.header(SlotAdmission.TICKET_HEADER)));
 *   // ... authenticate and connect
 * } catch (SlotRefusedException refused) {
 *   response.status(429).header("Retry-After", refused.retryAfterHeader());
 *   refused.slotHeader().ifPresent(slot -> response.header(SlotAdmission.SLOT_HEADER, slot));
 * }
 * }</pre>
 *
 * <h2>How it decides</h2>
 * A caller is admitted at once while the schedule has room: a token bucket of {@code burst} permits
 * refilled at the <em>admission rate</em>, the configured rate less its {@code headroom} (3 % by
 * default, since admitting at exactly a backend's nominal rate leaves it no room for noise). A
 * caller it cannot admit is not merely refused: its request is reserved at the earliest instant the
 * bucket would admit it, that instant becomes its slot, and the bucket's schedule moves on by one
 * emission interval. So the k-th caller refused in a burst gets the slot k intervals after the
 * first, and refusals are exactly as far apart as admissions will be. The caller comes back with
 * its {@link SlotTicket} and is admitted without touching the schedule again: its permit was taken
 * when the slot was reserved. Slots reach at most {@code horizon} ahead (default one hour, the
 * backlog of a whole fleet); a caller beyond it gets a shared hint instead, spread over the
 * following horizon by a low-discrepancy sequence so that such callers do not return together.
 *
 * <h2>Tickets</h2>
 * A ticket names its slot on the wall clock ({@link Clock}, in epoch milliseconds, so servers whose
 * clocks agree honour each other's tickets) and carries a SipHash-2-4 tag of the slot and the
 * caller's 64-bit identity under the {@linkplain Builder#ticketKey(byte[]) ticket key}. It admits
 * its caller, on any admission with the same key, from its slot for {@code grace} (default 1 s);
 * a caller that comes back early is refused again with the same ticket and the time left.
 * A ticket that is expired, forged, altered or presented by another caller admits nothing: the
 * caller is decided as if it had presented none. Without a configured key each admission draws a
 * random one, and honours only its own tickets.
 *
 * <h2>Guarantees</h2>
 * With the emission interval {@code I = ceil(1 s / admission rate)} in whole nanoseconds (so the
 * admitted rate never exceeds {@code rate × (1 − headroom)}):
 * <ul>
 *   <li><b>Never too many, by promise.</b> Counting each admission at its instant and each slot at
 *       its reserved instant, no interval of length {@code d} holds more than {@code burst + d / I}
 *       of them, for every schedule of callers and every interleaving of threads.
 *   <li><b>Never too many, by arrival.</b> Counting admissions when they happen (a ticket is
 *       honoured from at most 1 ms before its slot to at most {@code grace} + 2 ms after it, the
 *       wall clock's millisecond resolution when the ticket is written and when it is read), an
 *       interval of length {@code d} holds at most {@code burst + (d + grace + 3 ms) / I}, provided
 *       each ticket is presented once. (A caller can present its ticket again within the window; tickets
 *       are stateless so that any server honours them. A replay re-admits the same caller, whose
 *       authentication a cache answers, and only within its grace window.)
 *   <li><b>Slots never over-promise.</b> Consecutive slots are at least {@code I} apart; any
 *       interval of length {@code d} holds at most {@code d / I + 1} slots.
 *   <li><b>Exact.</b> Each decision is the one an ideal token bucket with reservations (the model
 *       in this class's tests) takes for the same ticker readings: no rounding beyond {@code I},
 *       no drift.
 *   <li><b>Bounded and lock-free.</b> The state is one {@code long}, updated by one compare-and-set;
 *       admitting (at once, or by a valid ticket) takes no lock, allocates nothing and logs nothing.
 *       A refusal allocates its exception and ticket and reports a {@code REJECTED} event.
 * </ul>
 * Across {@code S} servers that each admit at {@code rate/S} and share a ticket key, slots are
 * reserved on the issuing server's schedule and redeemed wherever the load balancer sends the
 * caller, so the fleet together stays within {@code S × burst + (d + grace + 3 ms) × rate}.
 *
 * <h2>A learned rate</h2>
 * Built with {@link Builder#learnedRate(LearnedRate, double)} instead of a configured rate, the
 * schedule is the same, but each decision takes the interval of the controller's rate current at
 * that instant (its share of it), so the guarantees above hold for the interval in force: they
 * are exact for the configured rate only. A slot locks in the rate at which it was booked; until
 * the controller's first congestion slots reach only its short startup horizon, and a ticket that
 * comes due while this admission has already let through its current draining rate (the rate was
 * cut since, a fail-over say) is given a new slot instead of being honoured: redemptions never run
 * more than 200 ms (or the grace window, if shorter) ahead of that rate. Such callers are counted
 * by {@link #reissuedCount()}.
 *
 * <p>Thread-safe. Silences of any length up to 292 years are exact.
 */
public final class SlotAdmission implements Admission {

  /**
   * The response header of a refusal with a personal slot: the wait in whole milliseconds, then the
   * ticket, as in {@code Shepherd-Slot: 41250; ticket=1723456789012.9f3a0c1d2e3f4a5b}.
   */
  public static final String SLOT_HEADER = "Shepherd-Slot";
  /** The request header in which a client presents its slot's ticket. */
  public static final String TICKET_HEADER = "Shepherd-Slot-Ticket";

  private static final long NANOS_PER_MILLI = 1_000_000L;
  private static final long NANOS_PER_SECOND = 1_000_000_000L;
  /** The learned mode's gate lets redemptions run ahead of the current rate by at most this: 200 ms. */
  private static final long GATE_TOLERANCE_NANOS = 200_000_000L;
  /** 2^64 / golden ratio: consecutive multiples spread evenly over the unit interval (Weyl). */
  private static final long GOLDEN = 0x9E3779B97F4A7C15L;

  private final String name;
  private final long intervalNanos;
  private final long toleranceNanos;
  private final long horizonNanos;
  private final long graceMillis;
  private final int burst;
  private final long k0;
  private final long k1;
  private final Ticker ticker;
  private final Clock clock;
  private final EventListener listener;
  /** The learned rate this admission follows, or null for a configured rate. */
  private final LearnedRate learned;
  private final double share;
  /** With a learned rate: the burst as a duration, or -1 when a burst count was configured. */
  private final long burstNanos;
  /** With a learned rate: the meter of admissions at the current rate, ticket redemptions included. */
  private final AtomicLong gateTat;
  private final LongAdder reissued = new LongAdder();

  /** The theoretical arrival time: when the schedule would be empty again, on the ticker. */
  private final AtomicLong tat;
  private final AtomicLong overflowSequence = new AtomicLong();
  private final LongAdder admitted = new LongAdder();
  private final LongAdder redeemed = new LongAdder();
  private final LongAdder slotted = new LongAdder();
  private final LongAdder overflowed = new LongAdder();

  /*
   * Why it is correct. The schedule is the GCRA of TokenBucket (see Gcra) with emission interval I
   * and tolerance tau = (burst - 1) * I: a caller arriving at t is conforming iff TAT - t <= tau,
   * and a conforming one moves TAT to max(TAT, t) + I. A refused caller is the same request
   * decided at its slot s = TAT - tau, the first instant at which it conforms (TAT - s = tau), so
   * the reservation moves TAT to max(TAT, s) + I = TAT + I. Every write therefore applies one
   * conforming request, at t (an admission) or at s (a slot), and the instants applied never go
   * backwards: after a reservation at s, a later admission needs TAT + I - t <= tau, i.e.
   * t >= s + I. A GCRA-conforming sequence holds at most floor((d + tau) / I) + 1 = burst + d / I
   * requests in any interval of length d, which is the first guarantee; slots are TAT - tau for
   * strictly increasing TATs that grow by I per slot, which is the third. A ticket names the
   * millisecond floor(wall) + ceil(wait), within 1 ms before or after the reserved instant s, and is
   * honoured while the wall clock's whole milliseconds lie in [slot, slot + grace): so its
   * redemption happens in (s - 1 ms, s + grace + 2 ms), and redemptions in [a, a + d] were applied
   * at instants in (a - grace - 2 ms, a + d + 1 ms): the second guarantee.
   *
   * Lock-free, clock first. The ticker is read once, before the state, and kept across CAS retries
   * (reading the ticker costs as much as the rest). Every write sets TAT above its writer's reading
   * (a reservation writes TAT + I with TAT - t > tau >= 0), so a state written by a thread that read
   * the ticker later than we did has TAT > our t: deciding against it from our t sees more debt,
   * not less. An admission so decided would also be conforming at the writer's reading, and writes
   * the same max(TAT, t) + I = TAT + I; a slot is TAT - tau whatever t is, only its hint is longer,
   * by the width of the race. So every guarantee holds; each successful CAS is one decision of the
   * ideal schedule, linearizable at the CAS.
   *
   * Wrap. TAT - t is taken modulo 2^64; it is exact while the true difference is below 2^63 ns
   * (292 years), and no state is ever more than tau + horizon + I ahead.
   */

  private SlotAdmission(Builder b, long intervalNanos, long k0, long k1) {
    this.learned = b.learned;
    this.share = b.share;
    this.burstNanos = b.burst > 0 ? -1L : NANOS_PER_SECOND / 10;
    this.gateTat = new AtomicLong(b.ticker.read());
    this.name = b.name;
    this.intervalNanos = intervalNanos;
    this.burst = b.burst > 0 ? b.burst : defaultBurst(intervalNanos);
    this.toleranceNanos = (this.burst - 1L) * intervalNanos;
    this.horizonNanos = b.horizonNanos;
    this.graceMillis = b.graceNanos / NANOS_PER_MILLI;
    this.k0 = k0;
    this.k1 = k1;
    this.ticker = b.ticker;
    this.clock = b.clock;
    this.listener = EventListener.guarded(b.listener == null ? EventListener.logging() : b.listener);
    this.tat = new AtomicLong(b.ticker.read());
  }

  /** A tenth of a second's admissions, at least one. */
  private static int defaultBurst(long intervalNanos) {
    return (int) Math.max(1L, Math.min(Integer.MAX_VALUE, NANOS_PER_SECOND / 10 / intervalNanos));
  }

  /**
   * Returns a builder; a rate must be set.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Admits a caller that presents no ticket, or refuses it with its slot.
   *
   * @param caller the caller's 64-bit identity (a hash of its device id, say); its ticket is bound
   *     to it
   * @throws SlotRefusedException if the caller is not admitted now: with its personal slot and
   *     ticket, or with a shared hint when the schedule is full up to the horizon
   */
  public void acquire(long caller) throws SlotRefusedException {
    acquire(caller, null);
  }

  /**
   * Admits a caller, by its ticket or at once, or refuses it with its slot.
   *
   * <p>A valid ticket (this caller's, untampered, issued with this admission's key) admits from its
   * slot until the grace window closes, without touching the schedule; presented before its slot,
   * it is refused with the same ticket and the time left. Any other ticket is ignored: the caller
   * is decided as if it had presented none.
   *
   * @param caller the caller's 64-bit identity; its ticket is bound to it
   * @param ticket the ticket the caller presents, or null
   * @throws SlotRefusedException if the caller is not admitted now: with its personal slot and
   *     ticket, or with a shared hint when the schedule is full up to the horizon
   */
  public void acquire(long caller, SlotTicket ticket) throws SlotRefusedException {
    if (learned != null) {
      acquireLearned(caller, ticket);
      return;
    }
    if (ticket != null && ticket.tag() == SipHash.hash(k0, k1, caller, ticket.slotEpochMillis())) {
      long late = clock.millis() - ticket.slotEpochMillis();
      if (late >= 0 && late < graceMillis) {
        redeemed.increment();
        return;
      }
      if (late < 0) {
        long waitNanos = -late < Long.MAX_VALUE / NANOS_PER_MILLI ? -late * NANOS_PER_MILLI : Long.MAX_VALUE;
        throw refused(waitNanos, ticket, "early for its slot");
      }
      // expired: decided as a caller without a ticket
    }
    long now = ticker.read();
    while (true) {
      long current = tat.get();
      long debt = current - now;
      if (debt <= toleranceNanos) {
        if (tat.compareAndSet(current, (debt > 0 ? current : now) + intervalNanos)) {
          admitted.increment();
          return;
        }
        continue;
      }
      long waitNanos = debt - toleranceNanos;
      if (waitNanos > horizonNanos) {
        throw beyondHorizon(waitNanos, horizonNanos);
      }
      if (tat.compareAndSet(current, current + intervalNanos)) {
        slotted.increment();
        throw personalSlot(caller, waitNanos);
      }
    }
  }

  /*
   * The learned mode. The schedule is the same GCRA, but each decision takes the interval of the
   * rate current at its ticker reading (I = 1 s / (learned rate x share)), so the schedule's
   * promises are made at the rate known when they are made. Two things keep a slot's locked-in
   * rate from overloading the backend. Until the first congestion the horizon is the controller's
   * short startup horizon, so a wrong guess books at most that much work. And a second GCRA, the
   * gate, meters everything this admission actually lets through, redemptions included, at the
   * controller's current draining rate (its rate, or less while a queue drains) with a tolerance
   * of 200 ms (or the grace window, if shorter): a ticket that comes due while the gate is full
   * (the rate was cut since its slot was booked) is not honoured but decided as a caller without
   * a ticket, which books it a new slot at the current rate.
   * Redemptions alone therefore never run more than the tolerance ahead of the gate's rate,
   * whatever rate their slots were booked at. Admissions from the schedule charge the gate too (by
   * a CAS that may be retried, never skipped), so a redemption finds less room after them.
   */
  private void acquireLearned(long caller, SlotTicket ticket) throws SlotRefusedException {
    long now = ticker.read();
    double rate = learned.poll(now) * share;
    long interval = (long) Math.max(1.0, Math.ceil(NANOS_PER_SECOND / rate));
    double draining = learned.drainingPermitsPerSecond() * share;
    long gateInterval = (long) Math.max(1.0, Math.ceil(NANOS_PER_SECOND / draining));
    if (ticket != null && ticket.tag() == SipHash.hash(k0, k1, caller, ticket.slotEpochMillis())) {
      long late = clock.millis() - ticket.slotEpochMillis();
      if (late >= 0 && late < graceMillis) {
        if (passGate(now, gateInterval, true)) {
          redeemed.increment();
          return;
        }
        reissued.increment(); // the rate was cut since the slot was booked: a new slot below
      } else if (late < 0) {
        long waitNanos = -late < Long.MAX_VALUE / NANOS_PER_MILLI ? -late * NANOS_PER_MILLI : Long.MAX_VALUE;
        throw refused(waitNanos, ticket, "early for its slot");
      }
    }
    long tolerance = burstNanos < 0 ? (burst - 1L) * interval : Math.max(0L, burstNanos - interval);
    long horizon = learned.isRampingUp() ? Math.min(horizonNanos, learned.startupHorizonNanos()) : horizonNanos;
    while (true) {
      long current = tat.get();
      long debt = current - now;
      if (debt <= tolerance) {
        if (tat.compareAndSet(current, (debt > 0 ? current : now) + interval)) {
          passGate(now, gateInterval, false);
          admitted.increment();
          return;
        }
        continue;
      }
      learned.saturated();
      long waitNanos = debt - tolerance;
      if (waitNanos > horizon) {
        throw beyondHorizon(waitNanos, horizon);
      }
      if (tat.compareAndSet(current, current + interval)) {
        slotted.increment();
        throw personalSlot(caller, waitNanos);
      }
    }
  }

  /** Charges the gate one interval; when {@code check}, only if it has room within its tolerance. */
  private boolean passGate(long now, long interval, boolean check) {
    long tolerance = Math.min(graceMillis * NANOS_PER_MILLI, GATE_TOLERANCE_NANOS);
    while (true) {
      long current = gateTat.get();
      long debt = current - now;
      if (check && debt > tolerance) {
        return false;
      }
      if (gateTat.compareAndSet(current, (debt > 0 ? current : now) + interval)) {
        return true;
      }
    }
  }

  private SlotRefusedException personalSlot(long caller, long waitNanos) {
    long wallNow = clock.millis();
    // Rounded up to the millisecond, so the caller, waiting the whole hint, never arrives early.
    long waitMillis = (waitNanos + NANOS_PER_MILLI - 1) / NANOS_PER_MILLI;
    long slot = wallNow + waitMillis;
    return refused(waitMillis * NANOS_PER_MILLI, new SlotTicket(slot, SipHash.hash(k0, k1, caller, slot)), "slot");
  }

  private SlotRefusedException beyondHorizon(long waitNanos, long horizon) {
    overflowed.increment();
    long fraction = overflowSequence.getAndIncrement() * GOLDEN;
    long offset = Math.multiplyHigh(fraction >>> 1, horizon) << 1; // fraction × horizon
    return refused(waitNanos - horizon + offset, null, "beyond the horizon");
  }

  private SlotRefusedException refused(long waitNanos, SlotTicket ticket, String what) {
    listener.onEvent(new Event(name, Event.Kind.REJECTED, Duration.ofNanos(waitNanos), what, null));
    return new SlotRefusedException(name, waitNanos, ticket);
  }

  /**
   * Returns this admission's name.
   *
   * @return the name given at build time
   */
  public String name() {
    return name;
  }

  /**
   * Returns the emission interval: the admission rate's period per caller, in whole nanoseconds;
   * with a {@linkplain Builder#learnedRate learned rate}, the one it started with.
   *
   * @return the interval
   */
  public Duration interval() {
    return Duration.ofNanos(intervalNanos);
  }

  /**
   * Returns the burst: how many callers are admitted at once after a silence.
   *
   * @return the burst
   */
  public int burst() {
    return burst;
  }

  /**
   * Returns how many callers were admitted at once, without a ticket.
   *
   * @return the count
   */
  public long admittedCount() {
    return admitted.sum();
  }

  /**
   * Returns how many callers were admitted by a valid ticket.
   *
   * @return the count
   */
  public long redeemedCount() {
    return redeemed.sum();
  }

  /**
   * Returns how many personal slots were handed out.
   *
   * @return the count
   */
  public long slotCount() {
    return slotted.sum();
  }

  /**
   * Returns how many valid tickets were not honoured because the {@linkplain
   * Builder#learnedRate learned rate} was cut since their slot was booked; each caller was given a
   * new slot. Always zero at a configured rate.
   *
   * @return the count
   */
  public long reissuedCount() {
    return reissued.sum();
  }

  /**
   * Returns how many callers beyond the horizon got a shared hint.
   *
   * @return the count
   */
  public long beyondHorizonCount() {
    return overflowed.sum();
  }

  /**
   * Returns how far ahead the schedule is booked: the wait a caller arriving now would be given,
   * zero when it would be admitted at once. A snapshot for monitoring.
   *
   * @return the backlog
   */
  public Duration backlog() {
    return Duration.ofNanos(Math.max(0L, tat.get() - ticker.read() - toleranceNanos));
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "SlotAdmission{'%s', interval=%s, burst=%d, horizon=%s, grace=%d ms}",
        name, interval(), burst, Duration.ofNanos(horizonNanos), graceMillis);
  }

  /**
   * Builds a {@link SlotAdmission}; each setter validates its value, {@link #build()} the whole.
   * Not thread-safe.
   */
  public static final class Builder {

    private static final long MAX_HORIZON_NANOS = 366L * 24 * 3600 * NANOS_PER_SECOND;

    private String name = "slot-admission";
    private double permitsPerSecond;
    private double headroom = 0.03;
    private int burst;
    private long horizonNanos = 3600 * NANOS_PER_SECOND;
    private long graceNanos = NANOS_PER_SECOND;
    private byte[] ticketKey;
    private Ticker ticker = Ticker.system();
    private Clock clock = Clock.systemUTC();
    private EventListener listener;
    private LearnedRate learned;
    private double share = 1.0;

    private Builder() {}

    /**
     * Makes the admission follow a {@link LearnedRate} instead of a configured rate: it admits at
     * {@code share} of the learned rate, current at each decision, and reports its refusals to the
     * controller as demand. Admissions that share a backend share one controller, each with its
     * share ({@code 1 / servers} behind a load balancer that spreads evenly).
     *
     * <p>In this mode the configured horizon applies only after the controller's first congestion
     * (its startup horizon before), the default burst is a tenth of a second's admissions at the
     * current rate, the headroom is not applied (the controller keeps its own margin), and a ticket
     * is honoured only while the admissions actually let through stay within the current rate and
     * 200 ms of it: a ticket booked at a rate since cut may be given a new slot instead.
     *
     * @param rate the controller
     * @param share the share of its rate, in (0, 1]
     * @return this builder
     * @throws NullPointerException if {@code rate} is null
     * @throws IllegalArgumentException if {@code share} is out of range or NaN
     */
    public Builder learnedRate(LearnedRate rate, double share) {
      Objects.requireNonNull(rate, "rate");
      Checks.check(share > 0 && share <= 1, "share", "in (0, 1]", share);
      this.learned = rate;
      this.share = share;
      return this;
    }

    /**
     * Sets the name used in refusals, events and logs.
     *
     * @param name a non-blank name; default {@code "slot-admission"}
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Sets the configured rate: what the protected backend serves, or this server's share of it.
     * Callers are admitted at this rate less the {@linkplain #headroom(double) headroom}.
     *
     * @param permitsPerSecond positive, finite, at most 10^9
     * @return this builder
     * @throws IllegalArgumentException if the rate is out of range
     */
    public Builder permitsPerSecond(double permitsPerSecond) {
      Checks.check(permitsPerSecond > 0 && permitsPerSecond <= 1e9, "permitsPerSecond", "positive and at most 10^9",
          permitsPerSecond);
      this.permitsPerSecond = permitsPerSecond;
      return this;
    }

    /**
     * Sets the share of the configured rate kept free: the admission rate is
     * {@code rate × (1 − headroom)}.
     *
     * @param headroom from 0 to 0.5; default 0.03
     * @return this builder
     * @throws IllegalArgumentException if {@code headroom} is out of range or NaN
     */
    public Builder headroom(double headroom) {
      Checks.check(headroom >= 0 && headroom <= 0.5, "headroom", "between 0 and 0.5", headroom);
      this.headroom = headroom;
      return this;
    }

    /**
     * Sets how many callers are admitted at once after a silence.
     *
     * @param burst at least 1; default a tenth of a second's admissions, at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code burst < 1}
     */
    public Builder burst(int burst) {
      this.burst = Checks.atLeast(burst, 1, "burst");
      return this;
    }

    /**
     * Sets how far ahead slots are handed out; callers beyond get a shared hint. Make it cover the
     * backlog of the largest storm: about fleet size / rate.
     *
     * @param horizon positive, at most 366 days; default one hour
     * @return this builder
     * @throws NullPointerException if {@code horizon} is null
     * @throws IllegalArgumentException if {@code horizon} is out of range
     */
    public Builder horizon(Duration horizon) {
      Checks.positive(horizon, "horizon");
      Checks.check(horizon.compareTo(Duration.ofNanos(MAX_HORIZON_NANOS)) <= 0,
          "horizon", "positive and at most 366 days", horizon);
      this.horizonNanos = horizon.toNanos();
      return this;
    }

    /**
     * Sets how long after its slot a ticket still admits: it must cover the client's jitter, the
     * network and the difference between the servers' clocks. Counted in whole milliseconds.
     *
     * @param grace from 1 ms to one hour; default 1 s
     * @return this builder
     * @throws NullPointerException if {@code grace} is null
     * @throws IllegalArgumentException if {@code grace} is out of range
     */
    public Builder grace(Duration grace) {
      Objects.requireNonNull(grace, "grace");
      Checks.check(grace.compareTo(Duration.ofMillis(1)) >= 0 && grace.compareTo(Duration.ofHours(1)) <= 0,
          "grace", "between 1 ms and 1 hour", grace);
      this.graceNanos = grace.toNanos();
      return this;
    }

    /**
     * Sets the key of the tickets' MAC, shared by every server that should honour the others'
     * tickets. The array is copied.
     *
     * @param key exactly 16 bytes, secret; default a random key of this admission's own
     * @return this builder
     * @throws NullPointerException if {@code key} is null
     * @throws IllegalArgumentException if {@code key} is not 16 bytes long
     */
    public Builder ticketKey(byte[] key) {
      Objects.requireNonNull(key, "key");
      Checks.check(key.length == 16, "ticketKey", "16 bytes long", key.length + " bytes");
      this.ticketKey = key.clone();
      return this;
    }

    /**
     * Sets the monotonic time source of the schedule.
     *
     * @param ticker the ticker; default {@link Ticker#system()}
     * @return this builder
     * @throws NullPointerException if {@code ticker} is null
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets the wall clock the tickets' slots are written on; servers that honour each other's
     * tickets need clocks that agree to well within the grace window.
     *
     * @param clock the clock; default {@link Clock#systemUTC()}
     * @return this builder
     * @throws NullPointerException if {@code clock} is null
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Sets the listener told of every refusal; it is {@linkplain EventListener#guarded guarded}.
     *
     * @param listener the listener; default {@link EventListener#logging()}
     * @return this builder
     * @throws NullPointerException if {@code listener} is null
     */
    public Builder listener(EventListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Builds the admission, its schedule empty (a full burst available) at the ticker's reading.
     *
     * @return a new admission
     * @throws IllegalStateException if neither a rate nor a learned rate was set, or both were
     */
    public SlotAdmission build() {
      if ((permitsPerSecond == 0) == (learned == null)) {
        throw new IllegalStateException(learned == null ? "rate must be set: call permitsPerSecond(rate)"
            : "a learned rate and a configured rate exclude each other: set one");
      }
      double interval = learned != null ? Math.ceil(NANOS_PER_SECOND / (learned.permitsPerSecond() * share))
          : Math.ceil(NANOS_PER_SECOND / (permitsPerSecond * (1 - headroom)));
      long intervalNanos = (long) Math.max(1, interval);
      byte[] key = ticketKey;
      if (key == null) {
        key = new byte[16];
        new SecureRandom().nextBytes(key);
      }
      return new SlotAdmission(this, intervalNanos, littleEndian(key, 0), littleEndian(key, 8));
    }

    private static long littleEndian(byte[] key, int from) {
      long word = 0;
      for (int i = 7; i >= 0; i--) {
        word = (word << 8) | (key[from + i] & 0xFF);
      }
      return word;
    }
  }
}
