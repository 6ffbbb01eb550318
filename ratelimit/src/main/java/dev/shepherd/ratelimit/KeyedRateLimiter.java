package dev.shepherd.ratelimit;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
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
 * Each key has a Bucket holding one long (and a write stamp, below): the GCRA theoretical arrival
 * time in units (see Gcra),
 * shifted left by one; the low bit is a "dead" mark. Deciding for an existing key is exactly Gcra's
 * lock-free loop on that long (shifted arithmetic: (a<<1) - (b<<1) >> 1 recovers a - b whenever it
 * lies in [-2^62, 2^62), which holds for every live debt, at most the horizon H <= 2^61). A key idle
 * for G ns with G * scale mod 2^63 in [2^63 - H, 2^63) would read an old state as a debt in (0, H]:
 * each bucket therefore carries Gcra's write stamp (same rules, same proof, with 2^63 for 2^64:
 * (2^63 - H) / scale still exceeds staleAfter), and such a debt is ignored once t - stamp reaches
 * staleAfter. So a key's answers are exact whatever its idle time.
 *
 * Bound. size counts reserved slots; a slot is reserved (CAS-increment below maxKeys) before a
 * bucket is inserted and released only by the thread whose map.remove(key, bucket) succeeds, so the
 * map never holds more than maxKeys entries, whatever the interleaving.
 *
 * Eviction without losing permits. A bucket may be evicted only once it has refilled (TAT <= now):
 * such a bucket is indistinguishable from a fresh, full one, so dropping it loses nothing. The
 * evictor reads the state, then the ticker (the ordering argument of Gcra), checks that the bucket
 * is full, and CASes the mark bit in. A grant racing with it either wins its own CAS first (then the
 * evictor's CAS fails and the bucket stays) or sees the mark, unlinks the dead bucket and starts over
 * with a fresh one. No grant is ever applied to a bucket that is no longer in the map, so no key can
 * get more than burst + rate * d in any window, across evictions.
 *
 * At the maximum. When the map is full and a new key arrives, the thread that wins the sweep lock
 * (a ReentrantLock: never on the path of an existing key) evicts every refilled bucket. If that
 * freed fewer than max(1, maxKeys / 8), the next sweep is scheduled for when enough further
 * buckets will have refilled, if left alone, to make up that number; until then new keys are
 * refused at once (no lock, no allocation beyond the rejection) with that wait as their
 * retry-after. Each sweep costs O(maxKeys) and either frees an eighth of the table or postpones the
 * next sweep until the rest of that eighth will have refilled, so a flood of new keys costs O(1)
 * amortized per key. Busy buckets are never evicted: that would hand their keys a fresh burst,
 * which is exactly what an attacker cycling through keys wants.
 */
/**
 * One token bucket per key (per device id, per IP address), in bounded memory.
 *
 * <p>Every key behaves as its own exact {@link TokenBucket} with the configured rate and burst, and
 * every bucket starts full: a key seen for the first time may take its burst at once. All
 * {@link TokenBucket} guarantees hold per key, including across evictions: in any interval of
 * length {@code d} a key is granted at most {@code burst + rate × d} permits.
 *
 * <h2>Bounded memory</h2>
 * At most {@link Builder#maxKeys(int) maxKeys} buckets exist at any time, under any flood of
 * distinct keys; memory is therefore bounded by {@code maxKeys} small entries (a map node and a
 * bucket of two {@code long}s, a few dozen bytes, plus the key each). A bucket that has refilled
 * carries no information (it is identical to a new, full one), so it may be dropped:
 * <ul>
 *   <li>While the table has room, buckets are simply kept.
 *   <li>When it is full and a new key arrives, every refilled bucket is evicted at once (a sweep,
 *       also available as {@link #evictRefilled()}), and the new key takes a freed slot.
 *   <li>If no bucket has refilled, because at least {@code maxKeys} keys are active, the new key's
 *       request is <b>refused</b> with a {@link RateLimitExceededException} (for {@link #call}) whose
 *       retry-after is the time until the next sweep (at most one refill time,
 *       {@code burst / rate}). Keys already in the table are not affected: they are always answered
 *       by their own buckets. Busy buckets are never evicted, since a key that lost its bucket
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
 * log, no event. A new key allocates its bucket; only a full table takes a lock (to sweep).
 * Rejections emit a {@link dev.shepherd.core.Event.Kind#REJECTED} event, which never contains the
 * key. Thread-safe.
 *
 * @param <K> the key type; keys must have consistent {@code equals} and {@code hashCode}
 */
public final class KeyedRateLimiter<K> {

  private static final long RETRY = Long.MIN_VALUE;
  private static final VarHandle STATE;
  private static final VarHandle STAMP;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(Bucket.class, "state", long.class);
      STAMP = MethodHandles.lookup().findVarHandle(Bucket.class, "stamp", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final String name;
  private final Rate rate;
  private final long scale;
  private final long interval;
  private final long tau;
  /** The largest valid debt in units, see Rate#horizon. */
  private final long horizon;
  /** How much older than a writer's reading a bucket's write stamp may be, in ns; see Gcra. */
  private final long stampSlack;
  /** Idle time (ns since a bucket's write stamp) after which its debt can only be a phantom. */
  private final long staleAfter;
  private final int burst;
  private final int maxKeys;
  private final Ticker ticker;
  private final Sleeper sleeper;
  private final EventListener listener;

  private final ConcurrentHashMap<K, Bucket> buckets = new ConcurrentHashMap<>();
  private final AtomicInteger size = new AtomicInteger();
  private final ReentrantLock sweepLock = new ReentrantLock();
  /** Ticker time (ns) before which a full table is not swept again. */
  private volatile long nextSweepAt;
  private final LongAdder granted = new LongAdder();
  private final LongAdder rejected = new LongAdder();
  private final LongAdder evicted = new LongAdder();

  /**
   * One key's state: TAT in units, shifted left by one; an odd value marks an evicted bucket. And
   * its write stamp, a ticker reading in ns (see Gcra's note on long silences).
   */
  static final class Bucket {
    volatile long state;
    volatile long stamp;

    Bucket(long state, long stamp) {
      this.state = state;
      this.stamp = stamp;
    }
  }

  private KeyedRateLimiter(Builder b) {
    this.name = b.name;
    this.rate = b.rate;
    this.scale = b.rate.scale;
    this.interval = b.rate.intervalUnits;
    this.burst = b.burst;
    this.tau = b.rate.tauForBurst(b.burst);
    this.horizon = b.rate.horizon(tau);
    this.stampSlack = b.rate.stampSlackNanos(horizon);
    this.staleAfter = b.rate.staleAfterNanos(horizon);
    this.maxKeys = b.maxKeys;
    this.ticker = b.ticker;
    this.sleeper = b.sleeper;
    this.listener = EventListener.guarded(b.listener == null ? EventListener.logging() : b.listener);
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

  /**
   * Returns this limiter's name, used in rejections and events.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Takes one permit for {@code key} if available now; never blocks.
   *
   * @param key the key
   * @return whether the permit was granted
   * @throws NullPointerException if {@code key} is null
   */
  public boolean tryAcquire(K key) {
    return acquireOrRetryAfterNanos(key, 1) == 0;
  }

  /**
   * Takes {@code permits} permits for {@code key} if all are available now; never blocks.
   *
   * @param key the key
   * @param permits how many, between 1 and the burst
   * @return whether the permits were granted
   * @throws IllegalArgumentException if {@code permits <= 0} or {@code permits > burst}
   * @throws NullPointerException if {@code key} is null
   */
  public boolean tryAcquire(K key, int permits) {
    return acquireOrRetryAfterNanos(key, permits) == 0;
  }

  /**
   * Takes {@code permits} permits for {@code key} if all are available now, or says how long until
   * they would be; see {@link RateLimiter#acquireOrRetryAfterNanos(int)}. For a new key refused
   * because the table is full, the wait is the time until the next sweep (a hint, not a promise).
   *
   * @param key the key
   * @param permits how many, between 1 and the burst
   * @return {@code 0} if granted, otherwise the nanoseconds (positive) until the request would be
   * @throws IllegalArgumentException if {@code permits <= 0} or {@code permits > burst}
   * @throws NullPointerException if {@code key} is null
   */
  public long acquireOrRetryAfterNanos(K key, int permits) {
    Objects.requireNonNull(key, "key");
    long cost = checkPermits(permits) * interval;
    for (;;) {
      Bucket b = buckets.get(key);
      if (b == null) {
        long r = acquireNew(key, permits, cost);
        if (r != RETRY) {
          return r;
        }
        continue;
      }
      for (;;) {
        long s = (long) STATE.getVolatile(b);
        if ((s & 1) != 0) {
          unlink(key, b); // evicted: help remove it, then start over with a fresh bucket
          break;
        }
        long t = ticker.read();
        long now = t * scale;
        long debt = debt(b, s, now, t);
        long excess = debt - tau + cost;
        if (excess > 0) {
          return reject(rate.toNanosCeil(excess), permits, "rate limit exceeded");
        }
        stamp(b, t);
        if (STATE.compareAndSet(b, s, (now + debt + cost) << 1)) {
          granted.increment();
          return 0;
        }
      }
    }
  }

  /**
   * Takes {@code permits} permits for {@code key}, waiting only if they are certain to be available
   * within {@code maxWait}; see {@link RateLimiter#tryAcquire(int, Duration)}. As in
   * {@link TokenBucket}, the reservation counts as the request arriving at its release time, and
   * reservations queue at most {@code max(1 hour, refill time)} beyond a full burst's debt. An
   * interrupted caller's reservation is returned if nobody has taken permits for the key since, and
   * stays consumed otherwise.
   *
   * @param key the key
   * @param permits how many, between 1 and the burst
   * @param maxWait the longest acceptable wait, zero or more
   * @return whether the permits were granted
   * @throws InterruptedException if interrupted while waiting
   * @throws IllegalArgumentException if {@code permits} is out of range or {@code maxWait} negative
   * @throws NullPointerException if {@code key} or {@code maxWait} is null
   */
  public boolean tryAcquire(K key, int permits, Duration maxWait) throws InterruptedException {
    Objects.requireNonNull(key, "key");
    long cost = checkPermits(permits) * interval;
    Objects.requireNonNull(maxWait, "maxWait");
    long maxWaitNanos = Durations.toNanosSaturated(Checks.nonNegative(maxWait, "maxWait"));
    for (;;) {
      Bucket b = buckets.get(key);
      if (b == null) {
        long r = acquireNew(key, permits, cost); // a new bucket is full: never a wait
        if (r != RETRY) {
          return r == 0;
        }
        continue;
      }
      for (;;) {
        long s = (long) STATE.getVolatile(b);
        if ((s & 1) != 0) {
          unlink(key, b);
          break;
        }
        long t = ticker.read();
        long now = t * scale;
        long debt = debt(b, s, now, t);
        long excess = debt - tau + cost;
        long wait = excess <= 0 ? 0 : rate.toNanosCeil(excess);
        long start = Math.max(debt, wait * scale); // as a request arriving at now + wait: see Gcra
        if (wait > maxWaitNanos || start + cost > horizon) {
          reject(wait, permits, "rate limit exceeded");
          return false;
        }
        long before = now + debt;
        long after = now + start + cost;
        stamp(b, t);
        if (STATE.compareAndSet(b, s, after << 1)) {
          if (wait > 0) {
            try {
              sleeper.sleep(Duration.ofNanos(wait));
            } catch (Throwable e) {
              STATE.compareAndSet(b, after << 1, before << 1);
              throw e;
            }
          }
          granted.increment();
          return true;
        }
      }
    }
  }

  /**
   * Takes one permit for {@code key} and runs {@code action}, or throws without running it.
   *
   * @param key the key
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws RateLimitExceededException if the key has no permit now, or is new and the table is full
   * @throws NullPointerException if {@code key} or {@code action} is null
   * @throws Exception whatever {@code action} threw
   */
  public <T> T call(K key, Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    long wait = acquireOrRetryAfterNanos(key, 1);
    if (wait != 0) {
      throw rejection(key, wait);
    }
    return action.call();
  }

  /**
   * Takes one permit for {@code key} and starts {@code action}, or returns a stage completed
   * exceptionally with a {@link RateLimitExceededException}; never blocks.
   *
   * @param key the key
   * @param action starts the guarded work
   * @param <T> the result type
   * @return the stage {@code action} returned, or a failed stage (also when {@code action} throws)
   * @throws NullPointerException if {@code key} or {@code action} is null
   */
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
   * Returns a {@link RateLimiter} (and so a {@link dev.shepherd.core.Policy}) limiting one key, for
   * composition with other policies. The view holds the key, not the bucket: it keeps working across
   * evictions. Its {@link RateLimiter#name()} and counters are this limiter's.
   *
   * @param key the key
   * @return a view of this limiter for {@code key}
   * @throws NullPointerException if {@code key} is null
   */
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

  /**
   * Returns each key's capacity: the most permits granted to one key at once.
   *
   * @return the burst
   */
  public int burst() {
    return burst;
  }

  /**
   * Returns how many requests were granted, over all keys.
   *
   * @return the count of granted requests
   */
  public long grantedCount() {
    return granted.sum();
  }

  /**
   * Returns how many requests were refused, over all keys (including new keys refused at the
   * maximum).
   *
   * @return the count of refused requests
   */
  public long rejectedCount() {
    return rejected.sum();
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
    return "KeyedRateLimiter{'" + name + "', " + rate + ", burst=" + burst
        + ", keys=" + size.get() + "/" + maxKeys + "}";
  }

  // ---- internals ----

  private int checkPermits(int permits) {
    if (permits < 1) {
      throw Checks.invalid("permits", "positive", permits);
    }
    if (permits > burst) {
      throw Checks.invalid("permits", "at most " + burst + " (the burst; more could never be granted)", permits);
    }
    return permits;
  }

  /**
   * The debt in units from bucket {@code b}'s shifted state at reading {@code t} (now = t * scale);
   * 0 when refilled, or when it can only be an old state whose distance wrapped (see Gcra). Call
   * after reading the state.
   */
  private long debt(Bucket b, long state, long now, long t) {
    long d = (state - (now << 1)) >> 1;
    return d <= 0 || d > horizon || t - (long) STAMP.getVolatile(b) >= staleAfter ? 0 : d;
  }

  /** Raises {@code b}'s write stamp to {@code t} if more than the slack older; before each write. */
  private void stamp(Bucket b, long t) {
    long s = (long) STAMP.getVolatile(b);
    while (t - s > stampSlack) { // rare: at most about once per slack per key
      if (STAMP.compareAndSet(b, s, t)) {
        return;
      }
      s = (long) STAMP.getVolatile(b);
    }
  }

  /** First request of a key with no bucket: insert a full bucket with this grant applied. */
  private long acquireNew(K key, int permits, long cost) {
    for (;;) {
      int s = size.get();
      if (s >= maxKeys) {
        long wait = makeRoom();
        if (wait > 0) {
          if (buckets.containsKey(key)) {
            return RETRY; // another thread inserted this key meanwhile: it has a bucket now
          }
          return reject(wait, permits, "no room for a new key (maxKeys=" + maxKeys + ")");
        }
        return RETRY; // room was made: look the key up again, someone may have inserted it
      }
      if (size.compareAndSet(s, s + 1)) {
        break;
      }
    }
    long t = ticker.read();
    Bucket fresh = new Bucket((t * scale + cost) << 1, t); // full bucket, this request granted (cost <= tau)
    if (buckets.putIfAbsent(key, fresh) != null) {
      size.decrementAndGet();
      return RETRY;
    }
    granted.increment();
    return 0;
  }

  private void unlink(K key, Bucket b) {
    if (buckets.remove(key, b)) {
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

  /** Evicts refilled buckets and schedules the next sweep; caller holds the sweep lock. */
  private int sweep() {
    int target = Math.max(1, maxKeys / 8);
    long[] waits = new long[Math.max(16, size.get())];
    int busy = 0;
    int freed = 0;
    for (Map.Entry<K, Bucket> e : buckets.entrySet()) {
      Bucket b = e.getValue();
      long s = (long) STATE.getVolatile(b);
      if ((s & 1) == 0) {
        long t = ticker.read(); // state first, then ticker: see the design note
        long d = debt(b, s, t * scale, t);
        if (d > 0 || !STATE.compareAndSet(b, s, s | 1)) {
          if (busy == waits.length) {
            waits = Arrays.copyOf(waits, busy * 2);
          }
          waits[busy++] = d > 0 ? rate.toNanosCeil(d) : 1; // a CAS lost to a grant: busy again
          continue;
        }
        evicted.increment();
        freed++;
      }
      unlink(e.getKey(), b);
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

  private long reject(long retryAfterNanos, int permits, String what) {
    rejected.increment();
    if (listener != EventListener.noop()) { // nobody to tell: build no event, allocate nothing
      listener.onEvent(Gcra.rejectionEvent(name, retryAfterNanos, permits, what));
    }
    return retryAfterNanos;
  }

  private RateLimitExceededException rejection(K key, long wait) {
    // Cosmetic only (racy): say why, when a new key met a full table.
    boolean full = size.get() >= maxKeys && !buckets.containsKey(key);
    return full
        ? new RateLimitExceededException(name, "no room for a new key (maxKeys=" + maxKeys + ")", wait)
        : new RateLimitExceededException(name, wait);
  }

  /** A one-key view; see {@link #forKey(Object)}. */
  private final class KeyView implements RateLimiter {
    private final K key;

    KeyView(K key) {
      this.key = key;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public boolean tryAcquire(int permits, Duration maxWait) throws InterruptedException {
      return KeyedRateLimiter.this.tryAcquire(key, permits, maxWait);
    }

    @Override
    public long acquireOrRetryAfterNanos(int permits) {
      return KeyedRateLimiter.this.acquireOrRetryAfterNanos(key, permits);
    }

    @Override
    public long grantedCount() {
      return granted.sum();
    }

    @Override
    public long rejectedCount() {
      return rejected.sum();
    }

    @Override
    public <T> T call(Callable<? extends T> action) throws Exception {
      return KeyedRateLimiter.this.call(key, action);
    }

    @Override
    public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
      return KeyedRateLimiter.this.callAsync(key, action);
    }

    @Override
    public String toString() {
      return "KeyedRateLimiter.forKey('" + name + "')";
    }
  }

  /**
   * Builds a {@link KeyedRateLimiter}. Not thread-safe; may build several limiters, each with its
   * own table.
   */
  public static final class Builder {

    private String name = "keyed-rate-limiter";
    private Rate rate;
    private int burst;
    private boolean burstSet;
    private int maxKeys = 100_000;
    private Ticker ticker = Ticker.system();
    private Sleeper sleeper = Sleeper.system();
    private EventListener listener;

    private Builder() {}

    /**
     * Sets the instance name; default {@code "keyed-rate-limiter"}.
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
     * Sets each key's refill rate to {@code permits} every {@code period}, exactly; unless
     * {@link #burst(int)} is called the burst is {@code permits} (clamped to the int range).
     *
     * @param permits permits per period, at least 1
     * @param period the period, positive
     * @return this builder
     * @throws IllegalArgumentException if {@code permits <= 0}, {@code period} is not positive, or
     *     the rate exceeds one permit per nanosecond
     * @throws NullPointerException if {@code period} is null
     */
    public Builder rate(long permits, Duration period) {
      this.rate = Rate.of(permits, period);
      if (!burstSet) {
        this.burst = (int) Math.min(Integer.MAX_VALUE, permits);
      }
      return this;
    }

    /**
     * Sets each key's refill rate in permits per second, read as the simplest fraction that rounds
     * to the given {@code double} (approximated to within 2^-20 ns per interval when that fraction is
     * too complex); unless {@link #burst(int)} is called the burst is
     * {@code max(1, floor(permitsPerSecond))}.
     *
     * @param permitsPerSecond the rate, positive, finite and at most 10^9
     * @return this builder
     * @throws IllegalArgumentException if the rate is not positive, not finite or above 10^9
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
    public <K> KeyedRateLimiter<K> build() {
      if (rate == null) {
        throw new IllegalStateException("rate must be set: call rate(permits, period) or permitsPerSecond(rate)");
      }
      return new KeyedRateLimiter<>(this);
    }
  }
}
