package dev.shepherd.ratelimit;

import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/*
 * Design note: per-key buckets with bounded memory, and why it is correct.
 *
 * Each key has a cell, a long[2] decided by the package's one GCRA (Gcra; its note explains the
 * state word with its dead mark, the write stamp and why every key's answers are exact whatever
 * its idle time). This class only adds the table.
 *
 * Bound. size counts reserved slots; a slot is reserved (CAS-increment below maxKeys) before a
 * cell is inserted and released only by the thread whose map.remove(key, cell) succeeds, so the
 * map never holds more than maxKeys entries, whatever the interleaving.
 *
 * Eviction without losing permits. A cell may be evicted only once it has refilled (TAT <= now):
 * such a bucket is indistinguishable from a fresh, full one, so dropping it loses nothing. The
 * evictor (Gcra.killIfRefilled) reads the state, then the ticker, checks that the bucket is full,
 * and CASes the dead mark in. A grant racing with it either wins its own CAS first (then the
 * evictor's CAS fails and the cell stays) or finds the mark (Gcra.DEAD), unlinks the dead cell and
 * starts over with a fresh one. No grant is ever applied to a cell that is no longer in the map, so
 * no key can get more than burst + rate * d in any window, across evictions.
 *
 * At the maximum. When the map is full and a new key arrives, the thread that wins the sweep lock
 * (a ReentrantLock: never on the path of an existing key) evicts every refilled cell. If that
 * freed fewer than max(1, maxKeys / 8), the next sweep is scheduled for when enough further
 * cells will have refilled, if left alone, to make up that number; until then new keys are
 * refused at once (no lock, no allocation beyond the rejection) with that wait as their
 * retry-after. Each sweep costs O(maxKeys) and either frees an eighth of the table or postpones the
 * next sweep until the rest of that eighth will have refilled, so a flood of new keys costs O(1)
 * amortized per key. Busy cells are never evicted: that would hand their keys a fresh burst,
 * which is exactly what an attacker cycling through keys wants.
 */
/**
 * One token bucket per key (per device id, per IP address), in process and in bounded memory: the
 * local {@link KeyedRateLimiter}.
 *
 * <pre>{@code
 * KeyedRateLimiter<String> perDevice = KeyedTokenBucket.builder()
 *     .name("device-connect")
 *     .rate(6, Duration.ofMinutes(1))   // each device
 *     .burst(3)
 *     .maxKeys(200_000)
 *     .build();
 * }</pre>
 *
 * <p>Every key behaves as its own exact {@link TokenBucket} with the configured rate and burst, and
 * every bucket starts full: a key seen for the first time may take its burst at once. All
 * {@link TokenBucket} guarantees hold per key, including across evictions: in any interval of
 * length {@code d} a key is granted at most {@code burst + rate × d} permits.
 *
 * <h2>Bounded memory</h2>
 * At most {@link Builder#maxKeys(int) maxKeys} buckets exist at any time, under any flood of
 * distinct keys; memory is therefore bounded by {@code maxKeys} small entries (a map node and an
 * array of two {@code long}s, a few dozen bytes, plus the key each). A bucket that has refilled
 * carries no information (it is identical to a new, full one), so it may be dropped:
 * <ul>
 *   <li>While the table has room, buckets are simply kept.
 *   <li>When it is full and a new key arrives, every refilled bucket is evicted at once (a sweep,
 *       also available as {@link #evictRefilled()}), and the new key takes a freed slot.
 *   <li>If no bucket has refilled, because at least {@code maxKeys} keys are active, the new key's
 *       request is <b>refused</b> with a {@link RateLimitExceededException} (for {@link #call}) whose
 *       retry-after is the time until the next sweep: until enough buckets will have refilled if
 *       left alone. That is at most the longest debt in the table: one refill time
 *       ({@code burst / rate}) plus the reservations queued on that key (up to
 *       {@code max(1 hour, refill time)} more, see {@link #tryAcquire(Object, int, Duration)}).
 *       Keys already in the table are not affected: they are always answered by their own
 *       buckets. Busy buckets are never evicted, since a key that lost its bucket
 *       would get a fresh burst: a flood that could evict them would lift every limit.
 *   <li>To keep sweeps cheap under a flood (O(1) amortized per new key), a sweep that frees fewer
 *       than {@code max(1, maxKeys / 8)} buckets postpones the next one until enough further buckets
 *       will have refilled, if left alone, to make up that number; new keys arriving in between are
 *       refused (once the freed slots are taken) even if a bucket has refilled meanwhile.
 * </ul>
 * Size {@code maxKeys} above the number of keys expected to be active within one refill time.
 *
 * <h2>Cost</h2>
 * For a key already present: one map lookup and one compare-and-set, no lock, no allocation, no
 * log, no event (the same algorithm and code as {@link TokenBucket}). A new key allocates its
 * bucket; only a full table takes a lock (to sweep).
 * Rejections emit a {@link dev.shepherd.core.Event.Kind#REJECTED} event, which never contains the
 * key. Thread-safe.
 *
 * @param <K> the key type; keys must have consistent {@code equals} and {@code hashCode}
 */
public final class KeyedTokenBucket<K> implements KeyedRateLimiter<K> {

  /** {@link #acquireNew} result: look the key up again. */
  private static final long RETRY = Long.MIN_VALUE + 1;

  private final Tally tally;
  private final Gcra gcra;
  private final int burst;
  private final int maxKeys;
  private final Ticker ticker;

  private final ConcurrentHashMap<K, long[]> cells = new ConcurrentHashMap<>();
  private final AtomicInteger size = new AtomicInteger();
  private final ReentrantLock sweepLock = new ReentrantLock();
  /** Ticker time (ns) before which a full table is not swept again. */
  private volatile long nextSweepAt;
  private final LongAdder evicted = new LongAdder();

  private KeyedTokenBucket(Builder b) {
    this.burst = b.burst;
    this.maxKeys = b.maxKeys;
    this.ticker = b.ticker;
    this.tally = new Tally(b.name, Tally.guarded(b.listener));
    this.gcra = Gcra.bucket(b.rate, b.burst, false, true, b.ticker, b.sleeper, tally);
    this.nextSweepAt = ticker.read();
  }

  /**
   * Returns a builder; a rate must be set.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public String name() {
    return tally.name;
  }

  /**
   * {@inheritDoc}
   *
   * <p>For a new key refused because the table is full, the wait is the time until the next sweep
   * (a hint, not a promise; see the class documentation).
   */
  @Override
  public long acquireOrRetryAfterNanos(K key, int permits) {
    Objects.requireNonNull(key, "key");
    gcra.checkPermits(permits);
    for (;;) {
      long[] c = cells.get(key);
      long r = c == null ? acquireNew(key, permits) : gcra.acquire(c, 0, permits);
      if (r == Gcra.DEAD) {
        unlink(key, c); // evicted: help remove it, then start over with a fresh cell
      } else if (r != RETRY) {
        return r;
      }
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>As in {@link TokenBucket}, the reservation counts as the request arriving at its release
   * time, and reservations queue at most {@code max(1 hour, refill time)} beyond a full burst's
   * debt (and never beyond 2^61 time units in all; see {@link TokenBucket}). If the wait ends in an
   * exception, the caller's reservation is returned if nobody has taken permits for the key since,
   * and stays consumed otherwise; the sleeper's exception is rethrown as it is.
   */
  @Override
  public boolean tryAcquire(K key, int permits, Duration maxWait) throws InterruptedException {
    Objects.requireNonNull(key, "key");
    gcra.checkPermits(permits);
    long maxWaitNanos = Durations.toNanosSaturated(Checks.nonNegative(maxWait, "maxWait"));
    for (;;) {
      long[] c = cells.get(key);
      // A new key's bucket is full: its first request never waits.
      long r = c == null ? acquireNew(key, permits) : gcra.tryAcquire(c, 0, permits, maxWaitNanos);
      if (r == Gcra.DEAD) {
        unlink(key, c);
      } else if (r != RETRY) {
        return r == 0;
      }
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>The exception's message says so when a new key met a full table.
   */
  @Override
  public <T> T call(K key, Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    long wait = acquireOrRetryAfterNanos(key, 1);
    if (wait != 0) {
      throw rejection(key, wait);
    }
    return action.call();
  }

  @Override
  public <T> CompletionStage<T> callAsync(K key, Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(action, "action");
    long wait = acquireOrRetryAfterNanos(key, 1);
    if (wait != 0) {
      return CompletableFuture.failedFuture(rejection(key, wait));
    }
    try {
      return Objects.requireNonNull(action.get(), "action returned null");
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>The view holds the key, not the bucket: it keeps working across evictions.
   */
  @Override
  public RateLimiter forKey(K key) {
    return new KeyView(Objects.requireNonNull(key, "key"));
  }

  /**
   * Evicts every bucket that has refilled now (they carry no information) and returns how many; the
   * table's other buckets are untouched. Costs O({@link #size()}); called automatically when the
   * table is full, and available for callers who want the memory back sooner.
   *
   * @return the number of buckets evicted
   */
  public int evictRefilled() {
    sweepLock.lock();
    try {
      return sweep();
    } finally {
      sweepLock.unlock();
    }
  }

  /**
   * Returns the number of keys that currently have a bucket; never more than {@link #maxKeys()}.
   *
   * @return the current key count
   */
  public int size() {
    return size.get();
  }

  /**
   * Returns the most keys this limiter holds buckets for at once.
   *
   * @return the configured maximum
   */
  public int maxKeys() {
    return maxKeys;
  }

  @Override
  public int burst() {
    return burst;
  }

  /**
   * Returns each key's refill rate, as written.
   *
   * @return the rate
   */
  public Rate rate() {
    return gcra.rate;
  }

  @Override
  public long grantedCount() {
    return tally.grantedCount();
  }

  /**
   * {@inheritDoc}
   *
   * <p>Includes new keys refused at the maximum.
   */
  @Override
  public long rejectedCount() {
    return tally.rejectedCount();
  }

  /**
   * Returns how many refilled buckets have been evicted so far.
   *
   * @return the eviction count
   */
  public long evictedCount() {
    return evicted.sum();
  }

  @Override
  public String toString() {
    return "KeyedTokenBucket{'" + tally.name + "', " + gcra.rate + ", burst=" + burst
        + ", keys=" + size.get() + "/" + maxKeys + "}";
  }

  // ---- internals ----

  /** First request of a key with no cell: insert a full cell with this grant applied. */
  private long acquireNew(K key, int permits) {
    for (;;) {
      int s = size.get();
      if (s >= maxKeys) {
        long wait = makeRoom();
        if (wait > 0) {
          if (cells.containsKey(key)) {
            return RETRY; // another thread inserted this key meanwhile: it has a cell now
          }
          return tally.reject(wait, permits, "no room for a new key (maxKeys=" + maxKeys + ")");
        }
        return RETRY; // room was made: look the key up again, someone may have inserted it
      }
      if (size.compareAndSet(s, s + 1)) {
        break;
      }
    }
    long[] fresh = gcra.grantedCell(permits, ticker.read()); // a full bucket, this request granted
    if (cells.putIfAbsent(key, fresh) != null) {
      size.decrementAndGet();
      return RETRY;
    }
    tally.grant();
    return 0;
  }

  private void unlink(K key, long[] c) {
    if (cells.remove(key, c)) {
      size.decrementAndGet();
    }
  }

  /** Called when the table is full; returns 0 if there may be room now, else the wait (ns). */
  private long makeRoom() {
    long now = ticker.read();
    long due = nextSweepAt;
    if (now - due < 0) {
      return due - now; // not due: refuse without locking
    }
    sweepLock.lock();
    try {
      if (size.get() < maxKeys) {
        return 0;
      }
      now = ticker.read();
      due = nextSweepAt;
      if (now - due < 0) {
        return due - now; // another thread just swept
      }
      sweep();
      if (size.get() < maxKeys) {
        return 0;
      }
      long wait = nextSweepAt - now;
      return wait > 0 ? wait : 1;
    } finally {
      sweepLock.unlock();
    }
  }

  /** Evicts refilled cells and schedules the next sweep; caller holds the sweep lock. */
  private int sweep() {
    int target = Math.max(1, maxKeys / 8);
    long[] waits = new long[Math.max(16, size.get())];
    int busy = 0;
    int freed = 0;
    for (Map.Entry<K, long[]> e : cells.entrySet()) {
      long r = gcra.killIfRefilled(e.getValue());
      if (r > 0) {
        if (busy == waits.length) {
          waits = Arrays.copyOf(waits, busy * 2);
        }
        waits[busy++] = r;
        continue;
      }
      if (r == 0) {
        evicted.increment();
        freed++;
      }
      unlink(e.getKey(), e.getValue());
    }
    long now = ticker.read();
    if (freed >= target || busy == 0) {
      nextSweepAt = now; // plenty of room: sweep again whenever the table fills
    } else {
      Arrays.sort(waits, 0, busy);
      nextSweepAt = now + waits[Math.min(busy, target - freed) - 1];
    }
    return freed;
  }

  private RateLimitExceededException rejection(K key, long wait) {
    // Cosmetic only (racy): say why, when a new key met a full table.
    boolean full = size.get() >= maxKeys && !cells.containsKey(key);
    return full
        ? new RateLimitExceededException(tally.name, "no room for a new key (maxKeys=" + maxKeys + ")", wait)
        : new RateLimitExceededException(tally.name, wait);
  }

  /** A one-key view; see {@link #forKey(Object)}. */
  private final class KeyView implements RateLimiter {
    private final K key;

    KeyView(K key) {
      this.key = key;
    }

    @Override
    public String name() {
      return tally.name;
    }

    @Override
    public boolean tryAcquire(int permits, Duration maxWait) throws InterruptedException {
      return KeyedTokenBucket.this.tryAcquire(key, permits, maxWait);
    }

    @Override
    public long acquireOrRetryAfterNanos(int permits) {
      return KeyedTokenBucket.this.acquireOrRetryAfterNanos(key, permits);
    }

    @Override
    public long grantedCount() {
      return tally.grantedCount();
    }

    @Override
    public long rejectedCount() {
      return tally.rejectedCount();
    }

    @Override
    public <T> T call(Callable<? extends T> action) throws Exception {
      return KeyedTokenBucket.this.call(key, action);
    }

    @Override
    public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
      return KeyedTokenBucket.this.callAsync(key, action);
    }

    @Override
    public String toString() {
      return "KeyedTokenBucket.forKey('" + tally.name + "')";
    }
  }

  /**
   * Builds a {@link KeyedTokenBucket}. Each setter validates its own value at once;
   * {@link #build()} checks what depends on several (the burst's refill time at the rate). Not
   * thread-safe; may build several limiters, each with its own table.
   */
  public static final class Builder {

    private String name = "keyed-token-bucket";
    private Rate rate;
    private int burst;
    private boolean burstSet;
    private int maxKeys = 100_000;
    private Ticker ticker = Ticker.system();
    private Sleeper sleeper = Sleeper.system();
    private EventListener listener;

    private Builder() {}

    /**
     * Sets the instance name; default {@code "keyed-token-bucket"}.
     *
     * @param name a non-blank name
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Sets each key's refill rate. Unless {@link #burst(int)} is called, the burst is the rate's
     * {@link Rate#permits() permits} as written (clamped to {@link Integer#MAX_VALUE}).
     *
     * @param rate the refill rate
     * @return this builder
     * @throws NullPointerException if {@code rate} is null
     */
    public Builder rate(Rate rate) {
      this.rate = Objects.requireNonNull(rate, "rate");
      if (!burstSet) {
        this.burst = (int) Math.min(Integer.MAX_VALUE, rate.permits());
      }
      return this;
    }

    /**
     * Shorthand for {@code rate(Rate.of(permits, period))}.
     *
     * @param permits permits per period, at least 1
     * @param period the period, positive
     * @return this builder
     * @throws IllegalArgumentException see {@link Rate#of(long, Duration)}
     * @throws NullPointerException if {@code period} is null
     */
    public Builder rate(long permits, Duration period) {
      return rate(Rate.of(permits, period));
    }

    /**
     * Sets each key's refill rate in permits per second, read as {@link Rate#perSecond(double)}
     * reads it; unless {@link #burst(int)} is called the burst is
     * {@code max(1, floor(permitsPerSecond))}.
     *
     * @param permitsPerSecond the rate, positive, finite and at most 10^9
     * @return this builder
     * @throws IllegalArgumentException see {@link Rate#perSecond(double)}
     */
    public Builder permitsPerSecond(double permitsPerSecond) {
      this.rate = Rate.perSecond(permitsPerSecond);
      if (!burstSet) {
        this.burst = (int) Math.max(1, Math.min(Integer.MAX_VALUE, Math.floor(permitsPerSecond)));
      }
      return this;
    }

    /**
     * Sets each key's capacity.
     *
     * @param burst the capacity, at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code burst < 1}
     */
    public Builder burst(int burst) {
      this.burst = Checks.atLeast(burst, 1, "burst");
      this.burstSet = true;
      return this;
    }

    /**
     * Sets the most keys held at once; default 100,000. See the class documentation for what
     * happens at the maximum.
     *
     * @param maxKeys the maximum, at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code maxKeys < 1}
     */
    public Builder maxKeys(int maxKeys) {
      this.maxKeys = Checks.atLeast(maxKeys, 1, "maxKeys");
      return this;
    }

    /**
     * Sets the time source; default {@link Ticker#system()}.
     *
     * @param ticker the ticker
     * @return this builder
     * @throws NullPointerException if {@code ticker} is null
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets how waiting acquisitions wait; default {@link Sleeper#system()}.
     *
     * @param sleeper the sleeper
     * @return this builder
     * @throws NullPointerException if {@code sleeper} is null
     */
    public Builder sleeper(Sleeper sleeper) {
      this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
      return this;
    }

    /**
     * Sets the listener told of every rejection; default {@link EventListener#logging()}, wrapped
     * with {@link EventListener#guarded(EventListener)}. Events never contain keys.
     *
     * @param listener the listener
     * @return this builder
     * @throws NullPointerException if {@code listener} is null
     */
    public Builder listener(EventListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Builds the limiter.
     *
     * @param <K> the key type
     * @return a new limiter with an empty table
     * @throws IllegalStateException if no rate was set
     * @throws IllegalArgumentException if the burst's refill time exceeds 2^60 time units
     */
    public <K> KeyedTokenBucket<K> build() {
      if (rate == null) {
        throw new IllegalStateException("rate must be set: call rate(Rate), rate(permits, period) or permitsPerSecond");
      }
      return new KeyedTokenBucket<>(this);
    }
  }
}
