package dev.shepherd.backoff;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import dev.shepherd.core.Ticker;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * A budget shared by many calls that caps retries to a fraction of recent first attempts, so a mass
 * failure cannot multiply the load on a struggling service (Finagle's {@code RetryBudget}).
 *
 * <p>Each first attempt {@linkplain #recordRequest() deposits}; each retry must {@linkplain
 * #tryWithdraw() withdraw}. A withdrawal is granted only while, over the sliding window of the last
 * {@code ttl}, retries stay within {@code ratio × first attempts + minRetriesPerSecond × ttl}. The
 * floor lets a quiet client still retry a little (with the defaults, 10 retries a second); the
 * ratio (default 0.2) bounds the amplification of a busy one to {@code 1 + ratio}.
 *
 * <p><b>The exact guarantee</b> (proved by {@code RetryBudgetProperties} for sequential use). The
 * window is a ring of ten slices of {@code q = ⌊ttl/10⌋} nanoseconds on the {@link Ticker}, counted
 * from the budget's creation. At every granted withdrawal at time {@code s}, with {@code W(s)} the
 * ten slices ending with the one holding {@code s}:
 * <pre>
 *   retries granted in W(s) ≤ ratio × requests recorded in W(s) + minRetriesPerSecond × ttl/(1 s)
 * </pre>
 * Since {@code W(s)} holds {@code [s − 9q, s]} and lies within {@code (s − 10q, s] ⊆ (s − ttl, s]},
 * this implies, free of slice alignment: <em>retries granted in {@code [s − 9q, s]} ≤ ratio ×
 * requests in {@code (s − ttl, s]} + minRetriesPerSecond × ttl</em> (with {@code 9q = 0.9·ttl} when
 * {@code ttl} is a multiple of 10 ns). Internally the ratio and the floor are rounded down to a
 * millionth of a retry, so the budget can be stricter than configured, never looser.
 *
 * <p><b>Thread-safety.</b> Thread-safe and lock-free; see the design note in the source. Concurrent
 * calls that agree on the current slice keep the guarantee exactly; a withdrawal racing with the
 * window's move to a new slice may miss, at worst, the withdrawals of threads racing with it.
 * Recording a request is one {@link LongAdder} increment, plus one small allocation per slice of
 * time when a new slice opens.
 */
public final class RetryBudget {

  /*
   * Design note: why this is correct without locks.
   *
   * State is a ring of SLICES slots, each holding an immutable-identity Slice(index) with two
   * counters. A slot is recycled by compare-and-set of the slot to a fresh Slice, only by a thread
   * whose slice index is newer; so a Slice object's counters only ever count events of its own
   * index, and an event of an older index than the slot's current one is dropped (a deposit) or
   * refused (a withdrawal): both err on the strict side.
   *
   * Deposits only raise the balance, so reading them without a snapshot can only under-count.
   * Withdrawals are optimistic: a thread first increments its slice's retry counter, then sums the
   * window, and undoes the increment if the balance went negative. Take the granted withdrawal L
   * whose increment came last in the (sequentially consistent) order of atomic operations: every
   * other granted withdrawal incremented before L did, hence before L's reads, so L's sum counted
   * all of them (failed withdrawals only make sums smaller until they undo). L saw
   *   reserve + deposits·d − granted·UNIT ≥ 0,
   * so granted ≤ (reserve + deposits·d) / UNIT, the bound. The argument needs all racing threads to
   * read the same window (the same current slice); at a slice boundary a thread still on the old
   * slice may miss a withdrawal counted in the new one, which is the documented slack.
   */

  /** The window is this many slices of {@code ttl / SLICES}. */
  static final int SLICES = 10;
  /** The cost of one retry in balance units: the ratio's resolution is {@code 1 / UNIT}. */
  static final long UNIT = 1_000_000L;

  private final String name;
  private final double ratio;
  private final double minRetriesPerSecond;
  private final Duration ttl;
  private final Ticker ticker;
  private final long origin;
  private final long sliceNanos;
  private final long depositUnits;
  private final long reserveUnits;
  private final AtomicReferenceArray<Slice> ring = new AtomicReferenceArray<>(SLICES);

  private RetryBudget(Builder b) {
    this.name = b.name;
    this.ratio = b.ratio;
    this.minRetriesPerSecond = b.minRetriesPerSecond;
    this.ttl = b.ttl;
    this.ticker = b.ticker;
    this.origin = ticker.read();
    this.sliceNanos = Math.max(1L, Durations.toNanosSaturated(ttl) / SLICES);
    this.depositUnits = toUnits(ratio);
    this.reserveUnits = toUnits(minRetriesPerSecond * (Durations.toNanosSaturated(ttl) / 1e9));
  }

  /** Converts a count of retries to units, rounding down and saturating. */
  private static long toUnits(double retries) {
    double units = Math.floor(retries * UNIT);
    return units >= 0x1p63 ? Long.MAX_VALUE : (long) units;
  }

  /**
   * Returns a builder with Finagle's defaults: ratio 0.2, 10 retries a second as the floor, a
   * 10-second window, the system ticker, name {@code "retry-budget"}.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns a budget with the given ratio and floor and the default 10-second window.
   *
   * @param ratio retries allowed per recorded request, zero or more
   * @param minRetriesPerSecond retries allowed regardless of traffic, per second of window
   * @return the budget
   * @throws IllegalArgumentException if a value is negative, NaN or infinite, or the ratio is above
   *     1000
   */
  public static RetryBudget of(double ratio, double minRetriesPerSecond) {
    return builder().ratio(ratio).minRetriesPerSecond(minRetriesPerSecond).build();
  }

  /**
   * Records a first attempt (not a retry): deposits {@code ratio} retries into the window.
   * Lock-free; allocates only when it opens a new slice.
   */
  public void recordRequest() {
    Slice slice = current(index(ticker.read()));
    if (slice != null) {
      slice.requests.increment();
    }
  }

  /**
   * Asks for one retry: granted if, counting it, the retries of the window stay within
   * {@code ratio × requests + minRetriesPerSecond × ttl}. Lock-free.
   *
   * @return {@code true} if the retry may go ahead (and is now counted), {@code false} if the budget
   *     is spent
   */
  public boolean tryWithdraw() {
    long k = index(ticker.read());
    Slice slice = current(k);
    if (slice == null) {
      return false; // this thread's reading is older than the ring: refuse, the strict side
    }
    slice.retries.incrementAndGet();
    if (balance(k) >= 0) {
      return true;
    }
    slice.retries.decrementAndGet();
    return false;
  }

  /**
   * Returns how many retries would be granted now, in the absence of other traffic.
   *
   * @return the whole retries left in the window, zero or more
   */
  public long available() {
    long balance = balance(index(ticker.read()));
    return balance <= 0 ? 0 : balance / UNIT;
  }

  /** Sums the window ending with slice {@code k}: reserve + deposits·d − retries·UNIT, saturated. */
  private long balance(long k) {
    long balance = reserveUnits;
    for (int i = 0; i < SLICES; i++) {
      Slice s = ring.get(i);
      if (s != null && s.index <= k && s.index > k - SLICES) {
        balance = Durations.saturatedAdd(balance,
            Durations.saturatedMultiply(s.requests.sum(), depositUnits));
        balance = Durations.saturatedAdd(balance,
            Durations.saturatedMultiply(-s.retries.get(), UNIT));
      }
    }
    return balance;
  }

  private long index(long now) {
    return Math.floorDiv(now - origin, sliceNanos);
  }

  /** Returns the live slice of index {@code k}, opening it if needed; null if {@code k} is stale. */
  private Slice current(long k) {
    int slot = (int) Math.floorMod(k, (long) SLICES);
    while (true) {
      Slice s = ring.get(slot);
      if (s != null && s.index == k) {
        return s;
      }
      if (s != null && s.index > k) {
        return null;
      }
      Slice fresh = new Slice(k);
      if (ring.compareAndSet(slot, s, fresh)) {
        return fresh;
      }
      // another thread recycled the slot first: re-read it
    }
  }

  /**
   * Returns this budget's name.
   *
   * @return the name given at build time
   */
  public String name() {
    return name;
  }

  /**
   * Returns the retries allowed per recorded request.
   *
   * @return the ratio
   */
  public double ratio() {
    return ratio;
  }

  /**
   * Returns the retries allowed per second of window regardless of traffic.
   *
   * @return the floor
   */
  public double minRetriesPerSecond() {
    return minRetriesPerSecond;
  }

  /**
   * Returns the length of the sliding window.
   *
   * @return the window
   */
  public Duration ttl() {
    return ttl;
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "RetryBudget{name=%s, ratio=%s, minRetriesPerSecond=%s, ttl=%s}",
        name, ratio, minRetriesPerSecond, ttl);
  }

  /** One slice of the window; its identity is its index. */
  private static final class Slice {
    final long index;
    final LongAdder requests = new LongAdder();
    final AtomicLong retries = new AtomicLong();

    Slice(long index) {
      this.index = index;
    }
  }

  /** Configures a {@link RetryBudget}; validates each value as it is set. Not thread-safe. */
  public static final class Builder {

    /** The largest ratio accepted; beyond it the unit arithmetic would lose its headroom. */
    private static final double MAX_RATIO = 1000.0;

    private String name = "retry-budget";
    private double ratio = 0.2;
    private double minRetriesPerSecond = 10;
    private Duration ttl = Duration.ofSeconds(10);
    private Ticker ticker = Ticker.system();

    private Builder() {}

    /**
     * Names the budget in events and logs.
     *
     * @param name a non-blank name; default {@code "retry-budget"}
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Sets the retries allowed per recorded first attempt in the window: 0.2 means at most one
     * retry for every five requests, on top of the floor.
     *
     * @param ratio in {@code [0, 1000]}; default 0.2
     * @return this builder
     * @throws IllegalArgumentException if {@code ratio} is negative, above 1000 or NaN
     */
    public Builder ratio(double ratio) {
      this.ratio = Checks.inRange(ratio, 0.0, MAX_RATIO, "ratio");
      return this;
    }

    /**
     * Sets the floor: retries allowed per second of window whatever the traffic, so that a
     * client with little traffic can still retry.
     *
     * @param minRetriesPerSecond zero or more, finite; default 10
     * @return this builder
     * @throws IllegalArgumentException if the value is negative, NaN or infinite
     */
    public Builder minRetriesPerSecond(double minRetriesPerSecond) {
      this.minRetriesPerSecond =
          Checks.inRange(minRetriesPerSecond, 0.0, Double.MAX_VALUE, "minRetriesPerSecond");
      return this;
    }

    /**
     * Sets the length of the sliding window over which requests and retries are counted.
     *
     * @param ttl at least one millisecond; default 10 seconds
     * @return this builder
     * @throws NullPointerException if {@code ttl} is null
     * @throws IllegalArgumentException if {@code ttl} is shorter than one millisecond
     */
    public Builder ttl(Duration ttl) {
      Objects.requireNonNull(ttl, "ttl");
      Checks.check(ttl.compareTo(Duration.ofMillis(1)) >= 0, "ttl", "at least 1 ms", ttl);
      this.ttl = ttl;
      return this;
    }

    /**
     * Sets the time source of the window.
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
     * Builds the budget; its window starts at the ticker's current reading.
     *
     * @return a new, empty, thread-safe budget
     */
    public RetryBudget build() {
      return new RetryBudget(this);
    }
  }
}
