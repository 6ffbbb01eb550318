package dev.shepherd.ratelimit.redis;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Ticker;
import dev.shepherd.ratelimit.Admission;
import dev.shepherd.ratelimit.Rate;
import dev.shepherd.ratelimit.SlotAdmission;
import dev.shepherd.ratelimit.SlotRefusedException;
import dev.shepherd.ratelimit.SlotTicket;
import dev.shepherd.ratelimit.internal.SlotTickets;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;
import java.util.function.IntSupplier;

/**
 * Reconnect-slot admission with one schedule for the whole fleet, kept in Redis: every server
 * admits from, and hands out personal slots on, the same schedule, so a refused fleet comes back
 * at exactly the fleet's rate whichever server each caller reaches. The behaviour for callers is
 * {@link SlotAdmission}'s (same {@link Admission} shape, same tickets, headers and refusals); only
 * where the schedule lives differs.
 *
 * <pre>{@code
 * RedisSlotAdmission admission = RedisSlotAdmission.builder()
 *     .name("connect")
 *     .connection(redis)                 // standalone, master-replica (Sentinel), or clusterConnection(...)
 *     .permitsPerSecond(2000)            // for the whole fleet
 *     .ticketKey(sharedKey)              // 16 bytes every connect server knows
 *     .heartbeat(Duration.ofSeconds(5))  // fallback share: rate / live servers
 *     .build();
 * admission.acquire(deviceKey, SlotTicket.parse(request.header(SlotAdmission.TICKET_HEADER)));
 * }</pre>
 *
 * <h2>How it decides</h2>
 * A caller without a valid ticket costs one atomic Lua script on one key (the GCRA script of
 * {@link RedisRateLimiter}, with reservations): it is admitted at once while the fleet's bucket of
 * {@code burst} has room at the admission rate ({@code rate × (1 − headroom)}); otherwise its
 * request is reserved at the earliest instant the bucket admits it, if that is within the
 * {@code horizon}, and the caller gets that instant as its personal slot with a {@link SlotTicket};
 * beyond the horizon it gets a shared hint, spread over the following horizon as
 * {@link SlotAdmission} spreads it. A caller presenting a valid ticket is admitted from its slot
 * until the grace window closes without asking Redis: tickets are stateless, MACed with the
 * shared {@linkplain Builder#ticketKey(byte[]) ticket key}, and honoured by every
 * {@code RedisSlotAdmission} and {@code SlotAdmission} built with that key.
 *
 * <h2>Guarantees while Redis answers</h2>
 * With the emission interval {@code I = ceil(1 s / admission rate)} in whole nanoseconds, and
 * counting in Redis's time ({@code TIME}, microseconds) each admission at the instant its script
 * ran and each slot at its reserved instant:
 * <ul>
 *   <li><b>Never too many, by promise, for the whole fleet.</b> No interval of length {@code d}
 *       holds more than {@code burst + d / I} admissions and slots together, across every server
 *       on the key: the bound of one {@link SlotAdmission}, not {@code S} of them.
 *   <li><b>Slots never over-promise.</b> Consecutive slots are at least {@code I} apart, less
 *       Redis's microsecond rounding when {@code I} is not a whole number of microseconds.
 *   <li><b>Exact and atomic.</b> Each decision is the ideal schedule's for Redis's clock at the
 *       instant the script runs (see {@link RedisRateLimiter}: integers below 2^53, no drift).
 * </ul>
 * The slot on the ticket is the reserved instant carried to the issuing server's wall clock
 * ({@link Builder#clock(Clock)}) and rounded up to the millisecond, so servers whose clocks agree
 * to well within the grace window honour each other's tickets.
 *
 * <h2>When Redis is slow or down</h2>
 * Each check waits at most the {@linkplain Builder#timeout(Duration) timeout} (default 50 ms);
 * after a timeout or connection failure the admission stops asking Redis for a cool-down and
 * decides locally, with a {@link SlotAdmission} at this server's share of the rate: {@code rate /
 * expectedServers}, or {@code rate / live servers} with {@link Builder#heartbeat(Duration)} (and a
 * {@link Builder#fleetSize(IntSupplier) fleet-size source} during an outage), burst
 * {@code max(1, burst / servers)}, with the same key, horizon and grace. So the storm keeps
 * draining at about the fleet's rate, and tickets issued before, during and after the outage stay
 * valid on every server. A local share starts with its own full burst, and a share re-rated during
 * an outage starts a new local schedule: slots the previous share handed out are still honoured,
 * on top of the new schedule. A Redis reply that cannot be read refuses the caller with a shared
 * hint of one cool-down, never a grant.
 *
 * <p>Thread-safe. A check blocks its thread for at most the timeout. The connection is shared, not
 * owned.
 */
public final class RedisSlotAdmission implements Admission {

  private static final long NANOS_PER_MILLI = 1_000_000L;
  /** 2^64 / golden ratio: consecutive multiples spread evenly over the unit interval (Weyl). */
  private static final long GOLDEN = 0x9E3779B97F4A7C15L;

  private final String name;
  private final String key;
  private final String[] keys;
  private final RedisGcra gcra;
  private final long intervalNanos;
  private final int burst;
  private final long horizonNanos;
  private final long horizonMicros;
  private final long graceMillis;
  private final long k0;
  private final long k1;
  private final Clock clock;
  private final EventListener listener;
  private final SlotTickets.Access tickets;
  /** This server's fallback share; replaced whole when the fleet's count changes. */
  private final AtomicReference<SlotAdmission> local;
  /** Sees each decision's Redis time; for tests, null otherwise. */
  volatile RedisGcra.Observer observer;

  private final AtomicLong overflowSequence = new AtomicLong();
  private final LongAdder admitted = new LongAdder();
  private final LongAdder redeemed = new LongAdder();
  private final LongAdder slotted = new LongAdder();
  private final LongAdder overflowed = new LongAdder();
  private final LongAdder localDecisions = new LongAdder();

  private RedisSlotAdmission(Builder b, Config c) {
    if (b.ticketKey == null) {
      throw new IllegalStateException("ticketKey must be set: every server must honour the others' tickets");
    }
    if (b.permitsPerSecond == 0) {
      throw new IllegalStateException("rate must be set: call permitsPerSecond(rate)");
    }
    if (c.connection == null && c.clusterConnection == null) {
      throw new IllegalStateException("connection must be set: call connection(redisClient.connect())");
    }
    // The whole fleet's schedule as one SlotAdmission would hold it: its interval and burst.
    SlotAdmission whole = b.template.build();
    this.intervalNanos = whole.interval().toNanos();
    this.burst = whole.burst();
    this.name = c.name;
    this.key = b.key != null ? b.key : "shepherd:slots:" + c.name;
    Config.checkConfiguredKey(key, "key", false);
    this.keys = new String[] {key};
    this.horizonNanos = b.horizonNanos;
    this.horizonMicros = b.horizonNanos / 1000;
    this.graceMillis = b.graceNanos / NANOS_PER_MILLI;
    this.tickets = SlotTickets.access();
    long[] words = tickets.keyWords(b.ticketKey);
    this.k0 = words[0];
    this.k1 = words[1];
    this.clock = b.clock;
    this.listener = c.guardedListener();
    c.rate(Rate.of(1, Duration.ofNanos(intervalNanos)));
    c.burst(burst);
    RedisRate rate = c.rate();
    // Any horizon fits Redis's arithmetic: the rate is one permit per I ns, so the scale is at most
    // 1000 units per µs and tau at most 2^50 units (RedisRate), and a reservation's debt, at most
    // horizon * scale + 2 tau, stays below 2^52 for horizons up to 2^51 / 1000 µs: 71 years > 366 days.
    double fleetRate = b.permitsPerSecond;
    double headroom = b.headroom;
    long horizonNanosFinal = b.horizonNanos;
    long graceNanos = b.graceNanos;
    byte[] ticketKey = b.ticketKey.clone();
    Ticker ticker = c.ticker;
    Clock wall = b.clock;
    EventListener shareListener = listener;
    String shareName = name;
    int fleetBurst = burst;
    IntFunction<SlotAdmission> shareOf = servers -> SlotAdmission.builder()
        .name(shareName)
        .permitsPerSecond(fleetRate / servers)
        .headroom(headroom)
        .burst(Math.max(1, fleetBurst / servers))
        .horizon(Duration.ofNanos(horizonNanosFinal))
        .grace(Duration.ofNanos(graceNanos))
        .ticketKey(ticketKey)
        .ticker(ticker)
        .clock(wall)
        .listener(shareListener)
        .build();
    this.local = new AtomicReference<>(shareOf.apply(c.initialServers()));
    this.gcra = new RedisGcra(c, rate, new RedisGcra.Local() {
      // RedisGcra only re-rates and describes this share: the admission decides on it itself.
      @Override
      public long acquireOrRetryAfterNanos(String k, int permits) {
        throw new UnsupportedOperationException("RedisSlotAdmission decides its fallback itself");
      }

      @Override
      public boolean tryAcquire(String k, int permits, Duration maxWait) {
        throw new UnsupportedOperationException("RedisSlotAdmission decides its fallback itself");
      }

      @Override
      public int burst() {
        return local.get().burst();
      }

      @Override
      public Rate rate() {
        return Rate.of(1, local.get().interval());
      }

      @Override
      public String describe() {
        return local.get().toString();
      }

      @Override
      public void share(int servers, boolean onFallback) {
        local.set(shareOf.apply(servers));
      }
    });
  }

  /**
   * Returns a builder; a connection, a rate and a ticket key must be set.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Admits a caller, by its ticket or at once on the fleet's schedule, or refuses it with its slot.
   * A valid ticket is checked locally, without Redis; any other caller costs one script call, or a
   * local decision at this server's share while Redis is unavailable.
   *
   * @param caller the caller's 64-bit identity; its ticket is bound to it
   * @param ticket the ticket the caller presents, or null
   * @throws SlotRefusedException if the caller is not admitted now: with its personal slot and
   *     ticket, or with a shared hint beyond the horizon (or when Redis's reply cannot be read)
   */
  @Override
  public void acquire(long caller, SlotTicket ticket) throws SlotRefusedException {
    if (ticket != null && tickets.tagOf(ticket) == tickets.tag(k0, k1, caller, ticket.slotEpochMillis())) {
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
    long r = gcra.reserve(keys, horizonMicros, observer);
    if (r == 0) {
      admitted.increment();
      return;
    }
    if (r > 0) {
      slotted.increment();
      throw personalSlot(caller, r * 1000);
    }
    if (r == RedisGcra.UNAVAILABLE) {
      localDecisions.increment();
      local.get().acquire(caller);
      return;
    }
    if (r == RedisGcra.NOT_UNDERSTOOD) {
      throw refused(gcra.coolDownNanos, null, "Redis reply not understood");
    }
    throw beyondHorizon(-r * 1000);
  }

  private SlotRefusedException personalSlot(long caller, long waitNanos) {
    // Rounded up to the millisecond, so the caller, waiting the whole hint, never arrives early.
    long waitMillis = (waitNanos + NANOS_PER_MILLI - 1) / NANOS_PER_MILLI;
    long slot = clock.millis() + waitMillis;
    return refused(waitMillis * NANOS_PER_MILLI, tickets.ticket(slot, tickets.tag(k0, k1, caller, slot)), "slot");
  }

  private SlotRefusedException beyondHorizon(long waitNanos) {
    overflowed.increment();
    long fraction = overflowSequence.getAndIncrement() * GOLDEN;
    long offset = Math.multiplyHigh(fraction >>> 1, horizonNanos) << 1; // fraction × horizon
    return refused(waitNanos - horizonNanos + offset, null, "beyond the horizon");
  }

  private SlotRefusedException refused(long waitNanos, SlotTicket ticket, String what) {
    listener.onEvent(new Event(name, Event.Kind.REJECTED, Duration.ofNanos(waitNanos), what, null));
    return tickets.refused(name, waitNanos, ticket);
  }

  @Override
  public String name() {
    return name;
  }

  /**
   * Returns the Redis key holding the fleet's schedule.
   *
   * @return the key
   */
  public String key() {
    return key;
  }

  /**
   * Returns the fleet's emission interval: the admission rate's period per caller, in whole
   * nanoseconds.
   *
   * @return the interval
   */
  public Duration interval() {
    return Duration.ofNanos(intervalNanos);
  }

  /**
   * Returns the fleet's burst: how many callers the whole fleet admits at once after a silence.
   *
   * @return the burst
   */
  public int burst() {
    return burst;
  }

  /**
   * Returns how many callers this server admitted at once on the fleet's schedule.
   *
   * @return the count
   */
  public long admittedCount() {
    return admitted.sum();
  }

  /**
   * Returns how many callers this server admitted by a valid ticket.
   *
   * @return the count
   */
  public long redeemedCount() {
    return redeemed.sum();
  }

  /**
   * Returns how many personal slots this server handed out on the fleet's schedule.
   *
   * @return the count
   */
  public long slotCount() {
    return slotted.sum();
  }

  /**
   * Returns how many callers beyond the horizon this server gave a shared hint.
   *
   * @return the count
   */
  public long beyondHorizonCount() {
    return overflowed.sum();
  }

  /**
   * Returns how many callers were decided by the local share because Redis was unavailable.
   *
   * @return the count
   */
  public long fallbackCount() {
    return localDecisions.sum();
  }

  /**
   * Returns how many Redis errors occurred: timeouts, connection failures, failed probes and
   * replies that could not be read.
   *
   * @return the count
   */
  public long redisErrorCount() {
    return gcra.redisErrorCount();
  }

  /**
   * Returns whether decisions are being made locally now, because Redis was unavailable.
   *
   * @return true while on the fallback
   */
  public boolean fallbackActive() {
    return gcra.fallbackActive();
  }

  /**
   * Returns the total time spent on the fallback.
   *
   * @return the time on the fallback since the admission was built
   */
  public Duration timeInFallback() {
    return gcra.timeInFallback();
  }

  /**
   * Returns how many servers share the rate now, counting this one (see
   * {@link RedisRateLimiter#fleetServers()}).
   *
   * @return the server count behind {@link #fallbackShare()}, at least 1
   */
  public int fleetServers() {
    return gcra.fleetServers();
  }

  /**
   * Returns this server's fallback share: the local admission used while Redis is unavailable, at
   * {@code rate / fleetServers()}.
   *
   * @return the share in use now
   */
  public SlotAdmission fallbackShare() {
    return local.get();
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "RedisSlotAdmission{'%s', interval=%s, burst=%d, horizon=%s, grace=%d ms, "
        + "%s, key=%s}", name, interval(), burst, Duration.ofNanos(horizonNanos), graceMillis, gcra.target(), key);
  }

  /**
   * Builds a {@link RedisSlotAdmission}; each setter validates its value, {@link #build()} the
   * whole. Not thread-safe; may build several admissions.
   */
  public static final class Builder {

    private final Config config = new Config("slot-admission");
    /** Validates the schedule's settings as SlotAdmission does, and yields its interval and burst. */
    private final SlotAdmission.Builder template = SlotAdmission.builder().listener(EventListener.noop());
    private String key;
    private double permitsPerSecond;
    private double headroom = 0.03;
    private long horizonNanos = Duration.ofHours(1).toNanos();
    private long graceNanos = Duration.ofSeconds(1).toNanos();
    private byte[] ticketKey;
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /**
     * Sets the name used in refusals, events and logs, in the default key and in the fleet's
     * heartbeat key.
     *
     * @param name a non-blank name; default {@code "slot-admission"}
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      config.name(name);
      template.name(name);
      return this;
    }

    /**
     * Sets a standalone or master–replica (Sentinel, from {@code MasterReplica.connect}) connection;
     * this or {@link #clusterConnection} is required. Shared, not owned.
     *
     * @param connection an open connection with a {@code String} codec
     * @return this builder
     * @throws NullPointerException if {@code connection} is null
     */
    public Builder connection(StatefulRedisConnection<String, String> connection) {
      config.connection(connection);
      return this;
    }

    /**
     * Sets a Redis Cluster connection instead; the schedule is one key, on its slot's master, and
     * Lettuce follows {@code MOVED} and {@code ASK} within the timeout. Shared, not owned.
     *
     * @param connection an open cluster connection with a {@code String} codec
     * @return this builder
     * @throws NullPointerException if {@code connection} is null
     */
    public Builder clusterConnection(StatefulRedisClusterConnection<String, String> connection) {
      config.connection(connection);
      return this;
    }

    /**
     * Sets the Redis key of the schedule; default {@code "shepherd:slots:" + name}. Every
     * admission on the key shares one schedule and should be built with the same settings.
     *
     * @param key a non-empty key of at most 1024 bytes in UTF-8
     * @return this builder
     * @throws NullPointerException if {@code key} is null
     * @throws IllegalArgumentException if {@code key} is empty or longer than 1024 bytes
     */
    public Builder key(String key) {
      this.key = Config.checkConfiguredKey(key, "key", false);
      return this;
    }

    /**
     * Sets the configured rate for the whole fleet; callers are admitted at this rate less the
     * {@linkplain #headroom(double) headroom}.
     *
     * @param permitsPerSecond positive, finite, at most 10^9
     * @return this builder
     * @throws IllegalArgumentException if the rate is out of range
     */
    public Builder permitsPerSecond(double permitsPerSecond) {
      template.permitsPerSecond(permitsPerSecond);
      this.permitsPerSecond = permitsPerSecond;
      return this;
    }

    /**
     * Sets the share of the configured rate kept free, as {@link SlotAdmission.Builder#headroom}.
     *
     * @param headroom from 0 to 0.5; default 0.03
     * @return this builder
     * @throws IllegalArgumentException if {@code headroom} is out of range or NaN
     */
    public Builder headroom(double headroom) {
      template.headroom(headroom);
      this.headroom = headroom;
      return this;
    }

    /**
     * Sets how many callers the fleet admits at once after a silence.
     *
     * @param burst at least 1; default a tenth of a second's admissions, at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code burst < 1}
     */
    public Builder burst(int burst) {
      template.burst(burst);
      return this;
    }

    /**
     * Sets how far ahead slots are handed out, as {@link SlotAdmission.Builder#horizon}.
     *
     * @param horizon positive, at most 366 days; default one hour
     * @return this builder
     * @throws NullPointerException if {@code horizon} is null
     * @throws IllegalArgumentException if {@code horizon} is out of range
     */
    public Builder horizon(Duration horizon) {
      template.horizon(horizon);
      this.horizonNanos = horizon.toNanos();
      return this;
    }

    /**
     * Sets how long after its slot a ticket still admits, as {@link SlotAdmission.Builder#grace}.
     *
     * @param grace from 1 ms to one hour; default 1 s
     * @return this builder
     * @throws NullPointerException if {@code grace} is null
     * @throws IllegalArgumentException if {@code grace} is out of range
     */
    public Builder grace(Duration grace) {
      template.grace(grace);
      this.graceNanos = grace.toNanos();
      return this;
    }

    /**
     * Sets the key of the tickets' MAC, shared by every server; required. The array is copied.
     *
     * @param key exactly 16 bytes, secret
     * @return this builder
     * @throws NullPointerException if {@code key} is null
     * @throws IllegalArgumentException if {@code key} is not 16 bytes long
     */
    public Builder ticketKey(byte[] key) {
      template.ticketKey(key);
      this.ticketKey = key.clone();
      return this;
    }

    /**
     * Sets the longest a check waits for Redis; default 50 ms. A check without an answer in time is
     * decided by the local share.
     *
     * @param timeout a positive duration
     * @return this builder
     * @throws IllegalArgumentException if {@code timeout} is not positive
     * @throws NullPointerException if {@code timeout} is null
     */
    public Builder timeout(Duration timeout) {
      config.timeout(timeout);
      return this;
    }

    /**
     * Sets how long the admission decides locally after Redis fails before probing it again;
     * default 1 s.
     *
     * @param coolDown a positive duration
     * @return this builder
     * @throws IllegalArgumentException if {@code coolDown} is not positive
     * @throws NullPointerException if {@code coolDown} is null
     */
    public Builder coolDown(Duration coolDown) {
      config.coolDown(coolDown);
      return this;
    }

    /**
     * Sets how many servers share the rate until a count is known, for the fallback share.
     *
     * @param expectedServers the fleet's size, at least 1; default 1
     * @return this builder
     * @throws IllegalArgumentException if {@code expectedServers < 1}
     */
    public Builder expectedServers(int expectedServers) {
      config.expectedServers(expectedServers);
      return this;
    }

    /**
     * Makes the fallback share follow the fleet, as {@link RedisRateLimiter.Builder#heartbeat}.
     *
     * @param interval how often to announce, positive, at most a day
     * @return this builder
     * @throws IllegalArgumentException if {@code interval} is not positive or longer than a day
     * @throws NullPointerException if {@code interval} is null
     */
    public Builder heartbeat(Duration interval) {
      config.heartbeat(interval);
      return this;
    }

    /**
     * Sets where the fleet's size comes from, as {@link RedisRateLimiter.Builder#fleetSize}.
     *
     * @param fleetSize the number of servers sharing the rate
     * @return this builder
     * @throws NullPointerException if {@code fleetSize} is null
     */
    public Builder fleetSize(IntSupplier fleetSize) {
      config.fleetSize(fleetSize);
      return this;
    }

    /**
     * Sets the time source of the cool-down and the local share; default {@link Ticker#system()}.
     * The Redis timeout is always real time, and the schedule in Redis runs on Redis's clock.
     *
     * @param ticker the ticker
     * @return this builder
     * @throws NullPointerException if {@code ticker} is null
     */
    public Builder ticker(Ticker ticker) {
      config.ticker(ticker);
      return this;
    }

    /**
     * Sets the wall clock tickets are written and read on; default {@link Clock#systemUTC()}.
     *
     * @param clock the clock
     * @return this builder
     * @throws NullPointerException if {@code clock} is null
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Sets the listener told of refusals, Redis errors and fallback switches; default
     * {@link EventListener#logging()}, guarded.
     *
     * @param listener the listener
     * @return this builder
     * @throws NullPointerException if {@code listener} is null
     */
    public Builder listener(EventListener listener) {
      config.listener(listener);
      return this;
    }

    /**
     * Builds the admission and, in the background, loads the script into Redis (best effort).
     *
     * @return a new admission
     * @throws IllegalStateException if no connection, rate or ticket key was set
     * @throws IllegalArgumentException if the key built from the name is too long, or the burst
     *     is too large for Redis's arithmetic at the rate (the message names {@code burst})
     */
    public RedisSlotAdmission build() {
      return new RedisSlotAdmission(this, config.copy()); // the copy takes the schedule's rate
    }
  }
}
