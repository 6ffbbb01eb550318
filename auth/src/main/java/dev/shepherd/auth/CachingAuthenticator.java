package dev.shepherd.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.core.RejectedException;
import dev.shepherd.core.internal.Causes;
import dev.shepherd.core.Ticker;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.random.RandomGenerator;

/**
 * An authenticator in front of a backend (an HTTP service, a database) that absorbs reconnect
 * storms and fails safe: one backend call per device however many reconnects arrive together, the
 * last known good answer while the backend is down, never a wrong secret accepted, and never a
 * right secret called wrong.
 *
 * <h2>What every answer means</h2>
 * <ul>
 *   <li><b>Accepted</b> only if the backend accepted that exact secret (as opposed to the device's
 *       current or previous one) in a call that started at most {@code ttl} ago, and never longer
 *       than the backend said ({@link Verified#validFor()}); while the backend fails or times out,
 *       at most {@code ttl + maxStale} ago.
 *   <li><b>{@link AuthenticationException}</b> (401) only if the backend refused that exact secret
 *       in a call that started less than {@code negativeTtl} ago. Nothing a request does with
 *       another secret can make a right secret be called wrong.
 *   <li><b>{@link BackendUnavailableException}</b> (503, with a retry-after) in every other case:
 *       the backend failed or did not answer within {@code backendTimeout} and no stale answer may
 *       be served, the device is cooling down after a failure, or the device's allowance of calls
 *       for unverified secrets is spent (below).
 * </ul>
 * Verdicts are dated by the start of the backend call that produced them, since the backend
 * decided at or after that instant. An answer that arrives late never overwrites a verdict from a
 * call that started after it: after a rotation, the old secret's delayed "valid" cannot displace
 * the new secret.
 *
 * <h2>The per-device allowance</h2>
 * A secret is <em>verified</em> when it is the one the backend last vouched for and that answer
 * is still held (fresh, or within {@code maxStale} of its expiry). Verified secrets cost the
 * backend one call per refresh, shared by every request. Any other secret (a rotated one, a
 * wrong one, or any secret of a device the cache does not hold) is <em>unverified</em>: each
 * distinct unverified secret needs a backend call, and those calls come out of a per-device
 * allowance of {@code unverifiedAllowance} calls (default 3) that refills by one every
 * {@code rotationCheckInterval} (default 30 s). A call whose secret the backend accepts is given
 * back, at most once per interval, so a device's own first verification and its rotations do not
 * use up what a stray wrong secret may need. Concurrent requests with the same unverified secret
 * share one call and pay once. Each refusal is remembered for that exact secret for
 * {@code negativeTtl} (at most {@code unverifiedAllowance} refusals per device, the oldest dropped
 * first), so the same wrong secret repeated costs nothing more. When the allowance is spent, an
 * unverified secret is answered {@link BackendUnavailableException} with a retry-after of at most
 * one {@code rotationCheckInterval}: "come back", never "wrong".
 *
 * <p>The trade-off: a larger allowance lets a device absorb more wrong secrets before its own new
 * secret is deferred, and lets more calls through to the backend under a flood. With
 * {@code a = unverifiedAllowance} and {@code I = rotationCheckInterval}, the worst cases are:
 * <ul>
 *   <li><b>For the backend (the database).</b> Per device, in any window of length {@code t},
 *       secrets the backend refuses cause at most {@code a + floor(t / I)} calls, and unverified
 *       secrets of any kind at most {@code a + 1 + 2 * floor(t / I)} (the extra ones are
 *       acceptances given back: a device flapping between two valid secrets). The verified secret
 *       causes at most one call at a time, none before its refresh instant unless the previous
 *       answer said "do not cache", and none within {@code failureCooldown} (or the backend's
 *       retry-after) of a failure or timeout. While the backend is down, a device makes at most one
 *       call per {@code failureCooldown}, whether or not the cache holds it. Under a flood of wrong
 *       secrets for {@code N} distinct device ids, that is at most {@code N * a} calls at once and
 *       {@code N} per {@code I} after. The allowance lives in the device's cache entry: a device
 *       evicted (beyond {@code maximumSize}) comes back with a full allowance, so a flood over more
 *       ids than {@code maximumSize} is bounded by the {@code guard}, not by the allowance: set one.
 *   <li><b>For a device under attack.</b> Its verified secret is never delayed by any number of
 *       wrong secrets: hits and refreshes do not use the allowance. A device that meets at most one
 *       stray wrong secret and rotates at most once per {@code I} is never delayed at all (with
 *       {@code a >= 2}; the default is 3). Under a sustained flood of distinct wrong secrets that
 *       spends every refill, a new secret (after a rotation, or of a device not cached) is answered
 *       503 with a retry-after of at most {@code I} for as long as the flood lasts, never 401, and
 *       is verified on the first retry that finds the allowance refilled: after the flood stops,
 *       within {@code I}. An attacker who knows only a device id can therefore defer a device's
 *       rotation, not refuse it, and cannot touch a device that keeps using its verified secret.
 * </ul>
 *
 * <h2>Other guarantees</h2>
 * <ul>
 *   <li><b>Single flight.</b> Concurrent requests for the same device and secret share one backend
 *       call, however they interleave with its completion.
 *   <li><b>Secrets are never stored.</b> The cache holds HMAC-SHA256 digests of secrets under a
 *       random key that exists only in this instance; every presented secret is digested and
 *       compared in constant time. A wrong secret neither replaces nor evicts a good answer.
 *   <li><b>Refresh ahead, with jitter.</b> With {@code L = min(ttl, validFor)} and
 *       {@code f = refreshAhead}, each answer draws from the injected {@link RandomGenerator} a
 *       refresh instant uniform in {@code [L(1-f), L(1-f/2))} and an expiry uniform in
 *       {@code (L(1-f/2), L]} after its call started. The first request after the refresh instant
 *       is answered from the cache and starts a background call on the executor, so a device that
 *       keeps connecting never waits, and answers written together (after a storm) are refreshed
 *       spread over time.
 *   <li><b>Bounded waits.</b> No request waits for the backend longer than {@code backendTimeout}
 *       after the call started: it is then answered stale if allowed, else
 *       {@link BackendUnavailableException} with a retry-after. A late answer is still recorded.
 *       (With a ticker other than {@link Ticker#system()}, such as a {@code ManualClock}, no thread
 *       watches the clock: a blocking request re-reads it every millisecond, and an asynchronous
 *       one is answered at the next event for its device after the deadline.)
 *   <li><b>Stale-if-error, fail closed.</b> After a failure or timeout, the last accepted answer is
 *       served for at most {@code maxStale} beyond its expiry, and the device's backend calls pause
 *       for {@code failureCooldown} or the backend's retry-after, whichever is longer. A device
 *       without an accepted answer is refused as unavailable meanwhile.
 *   <li><b>Revocation.</b> {@link #invalidate(String)} drops the device at once, discards its calls
 *       in flight and releases their waiters at once.
 *   <li><b>Bounded memory.</b> At most {@code maximumSize} devices (Caffeine's W-TinyLFU, which
 *       also keeps a flood of one-off ids from evicting frequently used devices); per device, one
 *       accepted answer and at most {@code unverifiedAllowance} refusals. Backend calls run under
 *       the optional {@code guard}, any core {@link Policy}.
 *   <li><b>One clock.</b> The same {@link Ticker} drives this class, its timeouts and Caffeine's
 *       expiry, so a {@code ManualClock} controls all of it in tests.
 * </ul>
 *
 * <h2>Observability</h2>
 * {@link #stats()} returns cheap counters. Slow paths report {@link Event}s to the listener:
 * {@code SUCCEEDED}/{@code FAILED} per backend call (a timeout is a failure), {@code FALLBACK} per
 * stale answer, {@code REJECTED} per refusal, {@code STATE_CHANGED} per invalidation. No secret
 * appears in any event, exception message, log line or {@code toString()}; device ids do (they
 * are normalised and contain no control characters).
 *
 * <h2>Threading</h2>
 * Thread-safe. A hit takes no lock: one HMAC (on a pooled {@code Mac}, no per-thread state, so a
 * fresh virtual thread per request costs nothing extra), one cache read, one counter increment.
 * Other requests take a short per-device lock (a {@link ReentrantLock}, never held while waiting,
 * so virtual threads do not pin) and {@link #authenticate(DeviceCredentials)} then waits for the
 * backend, at most {@code backendTimeout}. Backend calls go through the backend's
 * {@link Authenticator#authenticateAsync(Object)}; background refreshes and timeouts run on the
 * configured executor; with the system ticker, deadlines are watched by one shared daemon thread.
 *
 * <pre>{@code
 * CachingAuthenticator<String> auth = CachingAuthenticator.builder(HttpAuthenticator.of(uri))
 *     .ttl(Duration.ofMinutes(5))
 *     .maxStale(Duration.ofMinutes(30))
 *     .guard(bulkhead)              // any dev.shepherd.core.Policy
 *     .build();
 * String principal = auth.authenticate(DeviceCredentials.of(deviceId, secret));
 * }</pre>
 *
 * @param <P> the principal type
 */
public final class CachingAuthenticator<P> implements Authenticator<DeviceCredentials, P> {

  /*
   * Design.
   *
   * State. `cache` (Caffeine, bounded, expiring on our clock) maps a device id to an immutable
   * Entry: the accepted answer, recent refusals, the allowance and the cool-down (see Entry).
   * `flights` holds the backend calls in progress per (id, digest); it is not subject to
   * eviction, so single flight holds even when Caffeine refuses to admit a device.
   *
   * One lock per device. Every change of a device's entry or flights happens under the device's
   * lock (a stripe of `locks`), re-reading the entry there: routing a request that is not a fresh
   * hit, recording an answer, timing a call out, invalidating. Hence a request sees a flight or
   * the answer it recorded, never neither (no answer is asked for twice); the allowance is taken
   * and the flight created in one step (concurrent requests with one new secret pay once and
   * share the call); and invalidate's mark is seen by every later completion. Futures are completed
   * and events emitted after the lock is released, so no caller code runs under it.
   *
   * Order of verdicts. Each call gets a sequence number when it starts. A verdict about digest D
   * is recorded only if no verdict about D, and (for an acceptance) no accepted answer at all,
   * comes from a later call; the waiters of a call always get the newest verdict known about D.
   * Worked example (issue 14): s1 accepted at 0; at 270 s a refresh of s1 starts (seq 7) and
   * hangs; the device rotates to s2, whose call (seq 8) is accepted; then seq 7's "s1 valid"
   * arrives: 7 < 8, so s2 stays, and s1 is an unverified secret again.
   *
   * Time. A verdict is dated by its call's start (the backend decided at or after it), so ttl and
   * negativeTtl bound the age of the backend's decision, not of its delivery. Each call has a
   * deadline, enforced by whoever notices first: any later event on the device (a request, the
   * answer itself), a blocking waiter (which waits on the future until the deadline, re-reading a
   * non-system ticker every millisecond of real time, as the bulkhead's waiters do), and, with the
   * system ticker, a shared timer thread. All compute the same outcome, dated at the deadline. A
   * test clock is never polled by a background thread, so a simulation on a ManualClock stays
   * single-threaded and deterministic.
   *
   * The read path is lock-free: one HMAC, one Caffeine read, a constant-time comparison, a
   * LongAdder. So is a cached refusal.
   *
   * The secret itself lives only in the caller's DeviceCredentials and, for the duration of a
   * backend call, in a copy that is wiped when the call completes.
   */

  private static final long TEST_TICKER_POLL_NANOS = 1_000_000L;

  private final String name;
  private final Authenticator<DeviceCredentials, Verified<P>> backend;
  private final Policy guard;
  private final Ticker ticker;
  private final long origin;
  private final boolean systemTicker;
  private final Executor executor;
  private final EventListener listener;
  private final Duration ttl;
  private final long ttlNanos;
  private final long negativeTtlNanos;
  private final long maxStaleNanos;
  private final long intervalNanos;
  private final long burstNanos;
  private final int allowance;
  private final long failureCooldownNanos;
  private final long timeoutNanos;
  private final double refreshAhead;
  private final long maximumSize;
  private final RandomGenerator random;
  private final ReentrantLock randomLock = new ReentrantLock();
  private final ReentrantLock[] locks;
  private final AtomicLong sequence = new AtomicLong();
  /**
   * Per lock stripe, the last flight sequence number issued before an invalidation of a device in
   * that stripe. Read and written under the stripe's lock. Coarser than per device (a late answer
   * for a neighbour in the stripe is dropped too, costing at most one backend call later), but
   * bounded in memory, unlike a tombstone per invalidated device.
   */
  private final long[] invalidatedThrough;
  private final Hmac hmac = Hmac.withRandomKey();
  private final Cache<String, Entry<P>> cache;
  private final FlightTable<P> flights = new FlightTable<>();

  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder backendCalls = new LongAdder();
  private final LongAdder backendFailures = new LongAdder();
  private final LongAdder staleServed = new LongAdder();
  private final LongAdder refusals = new LongAdder();

  private CachingAuthenticator(Builder<P> b) {
    this.name = b.name;
    this.backend = b.backend;
    this.guard = b.guard;
    this.ticker = b.ticker;
    this.systemTicker = b.ticker == Ticker.system();
    this.executor = b.executor;
    this.listener = EventListener.guarded(b.listener);
    this.ttl = b.ttl;
    this.ttlNanos = Durations.toNanosSaturated(b.ttl);
    this.negativeTtlNanos = Durations.toNanosSaturated(b.negativeTtl);
    this.maxStaleNanos = Durations.toNanosSaturated(b.maxStale);
    this.intervalNanos = Durations.toNanosSaturated(b.rotationCheckInterval);
    this.allowance = b.allowance;
    this.burstNanos = Durations.saturatedMultiply(intervalNanos, b.allowance);
    this.failureCooldownNanos = Durations.toNanosSaturated(b.failureCooldown);
    this.timeoutNanos = Durations.toNanosSaturated(b.backendTimeout);
    this.refreshAhead = b.refreshAhead;
    this.maximumSize = b.maximumSize;
    this.random = b.random != null ? b.random : new SplittableRandom();
    int stripes = Integer.highestOneBit(Math.max(64, 8 * Runtime.getRuntime().availableProcessors()));
    this.locks = new ReentrantLock[stripes];
    this.invalidatedThrough = new long[stripes];
    for (int i = 0; i < stripes; i++) {
      locks[i] = new ReentrantLock();
    }
    // Our clock and Caffeine's: the ticker shifted to start at zero, so that all arithmetic on
    // instants (reading + duration) stays far from overflow whatever the ticker's origin, and
    // "forever" saturates at Long.MAX_VALUE.
    Ticker clock = this.ticker;
    this.origin = clock.read();
    long shift = this.origin;
    this.cache = Caffeine.newBuilder()
        .maximumSize(b.maximumSize)
        .ticker(() -> clock.read() - shift)
        .executor(b.executor)
        .expireAfter(new Entry.Lifetime<P>(negativeTtlNanos))
        .build();
  }

  /**
   * Returns a builder for an authenticator in front of {@code backend}.
   *
   * <p>A backend that returns plain principals is adapted with {@link Authenticator#map}:
   * {@code CachingAuthenticator.builder(backend.map(Verified::of))}.
   *
   * @param backend the authenticator that really verifies credentials; its
   *     {@link AuthenticationException} means "invalid", anything else it throws means "unavailable"
   * @param <P> the principal type
   * @return a new builder with the defaults listed on {@link Builder}
   * @throws NullPointerException if {@code backend} is null
   */
  public static <P> Builder<P> builder(Authenticator<DeviceCredentials, Verified<P>> backend) {
    return new Builder<>(Objects.requireNonNull(backend, "backend"));
  }

  /**
   * Returns this instance's name, used in events and exception messages.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Verifies credentials from the cache when it can, from the backend otherwise, waiting for the
   * backend (at most {@code backendTimeout} after its call started) when it must.
   *
   * @param credentials the device's credentials; not wiped, and not retained after the call
   * @return the principal the backend vouched for
   * @throws AuthenticationException if the backend refused this exact secret recently (see the
   *     class documentation)
   * @throws BackendUnavailableException if no verdict could be reached and no stale answer may be
   *     served, or the device's allowance for unverified secrets is spent; also if the thread is
   *     interrupted while waiting (the interrupt status is kept)
   * @throws NullPointerException if {@code credentials} is null
   * @throws IllegalStateException if the credentials were wiped
   */
  @Override
  public P authenticate(DeviceCredentials credentials) {
    Objects.requireNonNull(credentials, "credentials");
    String id = credentials.deviceId();
    byte[] digest = hmac.digest(credentials.secretRef());
    long now = now();
    Entry<P> entry = cache.getIfPresent(id);
    if (entry != null) {
      Entry.Accepted<P> accepted = entry.accepted;
      if (accepted != null && now < accepted.expireAt && accepted.matches(digest)) {
        return hit(entry, accepted, id, digest, credentials, now);
      }
    }
    Resolution<P> resolution = route(entry, id, digest, credentials, now);
    if (resolution.kind == Resolution.Kind.PENDING) {
      misses.increment();
      resolution = await(resolution.flight);
    }
    return deliver(resolution, id);
  }

  /**
   * Verifies credentials without blocking: a hit returns a completed stage; a miss returns a stage
   * completed by the backend's answer, or by the timeout.
   *
   * <p>The stage completes exceptionally with {@link AuthenticationException},
   * {@link BackendUnavailableException}, or, for null or wiped credentials,
   * {@link NullPointerException} / {@link IllegalStateException}; this method never throws.
   *
   * @param credentials the device's credentials; must not be wiped before the stage completes
   * @return a stage completing with the principal or the refusal
   */
  @Override
  public CompletionStage<P> authenticateAsync(DeviceCredentials credentials) {
    Resolution<P> resolution;
    String id;
    try {
      Objects.requireNonNull(credentials, "credentials");
      id = credentials.deviceId();
      byte[] digest = hmac.digest(credentials.secretRef());
      long now = now();
      Entry<P> entry = cache.getIfPresent(id);
      if (entry != null) {
        Entry.Accepted<P> accepted = entry.accepted;
        if (accepted != null && now < accepted.expireAt && accepted.matches(digest)) {
          return CompletableFuture.completedFuture(hit(entry, accepted, id, digest, credentials, now));
        }
      }
      resolution = route(entry, id, digest, credentials, now);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    CompletableFuture<P> result = new CompletableFuture<>();
    if (resolution.kind != Resolution.Kind.PENDING) {
      settle(result, resolution, id);
      return result;
    }
    misses.increment();
    resolution.flight.future.whenComplete((r, t) -> settle(result, r != null ? r : internalError(id, t), id));
    return result;
  }

  /**
   * Drops everything cached for a device and discards its backend calls in flight, so the
   * device's next request asks the backend afresh. Call it when a device is revoked (after
   * revoking it at the backend) or its secret is reset.
   *
   * <p>When this method returns, no answer obtained by a call that started before it can enter
   * the cache, and every request that was waiting for such a call has been released with
   * {@link BackendUnavailableException} (retry-after zero: asking again meets the backend's
   * current verdict). The device's allowance starts full again.
   *
   * @param deviceId the device id, normalised by {@link DeviceCredentials#normalizeDeviceId}
   * @throws NullPointerException if {@code deviceId} is null
   * @throws IllegalArgumentException if {@code deviceId} breaks the normalisation rule
   */
  public void invalidate(String deviceId) {
    String id = DeviceCredentials.normalizeDeviceId(deviceId);
    List<Flight<P>> revoked;
    ReentrantLock lock = lockFor(id);
    lock.lock();
    try {
      revoked = flights.revoke(id);
      cache.invalidate(id);
      invalidatedThrough[stripeOf(id)] = sequence.get();
    } finally {
      lock.unlock();
    }
    for (Flight<P> flight : revoked) {
      flight.future.complete(discarded(id));
    }
    emit(Event.Kind.STATE_CHANGED, Duration.ZERO, "device '" + id + "' invalidated", null);
  }

  /**
   * Drops every cached answer and discards every backend call in flight, as
   * {@link #invalidate(String)} does for each device.
   */
  public void invalidateAll() {
    List<Flight<P>> revoked = new ArrayList<>();
    for (ReentrantLock lock : locks) {
      lock.lock();
    }
    try {
      for (String id : flights.devices()) {
        revoked.addAll(flights.revoke(id));
      }
      cache.invalidateAll();
      Arrays.fill(invalidatedThrough, sequence.get());
    } finally {
      for (ReentrantLock lock : locks) {
        lock.unlock();
      }
    }
    for (Flight<P> flight : revoked) {
      flight.future.complete(discarded(flight.deviceId));
    }
    emit(Event.Kind.STATE_CHANGED, Duration.ZERO, "all devices invalidated", null);
  }

  /**
   * Returns a snapshot of the counters since this instance was built.
   *
   * @return the counters; each is read atomically, the set is not a consistent snapshot
   */
  public Stats stats() {
    return new Stats(hits.sum(), misses.sum(), backendCalls.sum(), backendFailures.sum(),
        staleServed.sum(), refusals.sum());
  }

  /**
   * Returns the approximate number of cached devices.
   *
   * @return the estimated size, at most {@code maximumSize} once pending maintenance has run
   */
  public long estimatedSize() {
    return cache.estimatedSize();
  }

  /** Runs Caffeine's pending maintenance (evictions) now; for tests. */
  void cleanUp() {
    cache.cleanUp();
  }

  /** Package-private view of a device's entry; for tests. */
  Entry<P> entry(String deviceId) {
    return cache.asMap().get(DeviceCredentials.normalizeDeviceId(deviceId));
  }

  /** The device's accepted answer, or null; for tests. */
  Entry.Accepted<P> accepted(String deviceId) {
    Entry<P> entry = entry(deviceId);
    return entry == null ? null : entry.accepted;
  }

  /** Times out every call past its deadline now, as the timer does with the system ticker; for tests. */
  void expireOverdue() {
    long now = now();
    for (String id : flights.devices()) {
      for (Flight<P> flight : flights.of(id)) {
        if (now >= flight.deadline) {
          timeOut(flight);
        }
      }
    }
  }

  /** Converts a reading of this instance's clock back to the ticker's; for tests. */
  long tickerTime(long instant) {
    return instant + origin;
  }

  // ---------------------------------------------------------------------------------------------
  // Read path

  /** This instance's clock: the ticker minus its reading at build time. */
  private long now() {
    return ticker.read() - origin;
  }

  private ReentrantLock lockFor(String id) {
    return locks[stripeOf(id)];
  }

  private int stripeOf(String id) {
    int h = id.hashCode();
    return (h ^ (h >>> 16)) & (locks.length - 1);
  }

  private P hit(Entry<P> entry, Entry.Accepted<P> accepted, String id, byte[] digest,
      DeviceCredentials credentials, long now) {
    hits.increment();
    if (now >= accepted.refreshAt) {
      maybeRefresh(entry, accepted, id, digest, credentials, now);
    }
    return accepted.principal;
  }

  /** Everything but a fresh hit: an answer now, or a flight to wait for. */
  private Resolution<P> route(Entry<P> seen, String id, byte[] digest, DeviceCredentials credentials, long now) {
    if (seen != null && seen.refuses(digest, now, negativeTtlNanos)) {
      hits.increment(); // the backend refused this exact secret recently: no lock needed
      return Resolution.refuse(invalid(id, null));
    }
    Flight<P> created = null;
    Resolution<P> answer;
    List<Outcome<P>> timedOut;
    ReentrantLock lock = lockFor(id);
    lock.lock();
    try {
      timedOut = timeOutOverdueLocked(id, now);
      Entry<P> entry = orEmpty(cache.getIfPresent(id));
      Entry.Accepted<P> verified = entry.acceptedFor(digest, now);
      Flight<P> flight = flights.find(id, digest);
      if (verified != null) {
        if (now < verified.expireAt) {
          answer = Resolution.accept(verified.principal); // recorded since the lock-free read
        } else if (flight != null) {
          answer = Resolution.pending(flight);
        } else if (now < entry.backoffUntil && verified.servable) {
          answer = Resolution.stale(verified.principal); // the backend failed recently: not yet
        } else {
          created = newFlight(id, digest, false);
          answer = Resolution.pending(created);
        }
      } else if (entry.refuses(digest, now, negativeTtlNanos)) {
        hits.increment();
        answer = Resolution.refuse(invalid(id, null));
      } else if (flight != null) {
        answer = Resolution.pending(flight);
      } else if (now < entry.backoffUntil) {
        answer = Resolution.refuse(unavailable(id, "cooling down after a backend failure",
            entry.backoffUntil - now, null));
      } else {
        // An unverified secret: one call from the device's allowance (GCRA), or come back later.
        long tat = Durations.saturatedAdd(Math.max(entry.tat, now), intervalNanos);
        if (tat - now > burstNanos) {
          answer = Resolution.refuse(unavailable(id, "too many unverified secrets for this device",
              tat - now - burstNanos, null));
        } else {
          cache.put(id, entry.withTat(tat));
          created = newFlight(id, digest, true);
          answer = Resolution.pending(created);
        }
      }
    } finally {
      lock.unlock();
    }
    finish(timedOut);
    if (created != null) {
      call(created, credentials.copy());
    }
    return answer;
  }

  private static <P> Entry<P> orEmpty(Entry<P> entry) {
    return entry != null ? entry : Entry.empty();
  }

  /** Creates and registers a started flight; the caller holds the device's lock and calls it. */
  private Flight<P> newFlight(String id, byte[] digest, boolean paid) {
    Flight<P> flight = new Flight<>(id, digest, paid);
    flight.claimStart();
    flights.add(flight);
    return flight;
  }

  private void maybeRefresh(Entry<P> entry, Entry.Accepted<P> accepted, String id, byte[] digest,
      DeviceCredentials credentials, long now) {
    if (now < entry.backoffUntil || !accepted.claimRefresh()) {
      return;
    }
    Flight<P> flight = null;
    ReentrantLock lock = lockFor(id);
    lock.lock();
    try {
      Entry<P> current = cache.getIfPresent(id);
      // The claim stays taken if a call for this digest runs already: its end releases it.
      if (current != null && current.accepted == accepted && flights.find(id, digest) == null) {
        flight = newFlight(id, digest, false);
      }
    } finally {
      lock.unlock();
    }
    if (flight == null) {
      return;
    }
    Flight<P> refresh = flight;
    DeviceCredentials copy = credentials.copy();
    try {
      executor.execute(() -> call(refresh, copy));
    } catch (RuntimeException rejected) {
      copy.wipe();
      begin(refresh);
      complete(refresh, null, rejected);
    }
  }

  private Resolution<P> await(Flight<P> flight) {
    try {
      while (true) {
        long remaining = flight.deadline - now();
        if (remaining <= 0) {
          timeOut(flight); // no-op if the timer (or anyone) got there first
          return flight.future.get();
        }
        // With the system ticker the timer completes the flight at its deadline; a test clock is
        // re-read every millisecond of real time, as the bulkhead's waiters do.
        try {
          return flight.future.get(systemTicker ? remaining : Math.min(remaining, TEST_TICKER_POLL_NANOS),
              TimeUnit.NANOSECONDS);
        } catch (TimeoutException stillWaiting) {
          // look at the clock again
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Resolution.refuse(new BackendUnavailableException(name, "'" + name
          + "' was interrupted waiting for the verification of device '" + flight.deviceId + "'", null, e));
    } catch (ExecutionException e) {
      return internalError(flight.deviceId, e.getCause());
    }
  }

  private P deliver(Resolution<P> resolution, String id) {
    switch (resolution.kind) {
      case ACCEPT:
        return resolution.principal;
      case STALE:
        staleServed.increment();
        emit(Event.Kind.FALLBACK, Duration.ZERO,
            "device '" + id + "': backend unavailable, served the last known good answer", null);
        return resolution.principal;
      default:
        refusals.increment();
        RuntimeException refusal = resolution.refusal;
        Duration delay = refusal instanceof RejectedException
            ? ((RejectedException) refusal).retryAfter().orElse(Duration.ZERO) : Duration.ZERO;
        emit(Event.Kind.REJECTED, delay, refusal.getMessage(), null);
        throw refusal;
    }
  }

  private void settle(CompletableFuture<P> result, Resolution<P> resolution, String id) {
    try {
      result.complete(deliver(resolution, id));
    } catch (RuntimeException refusal) {
      result.completeExceptionally(refusal);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Backend calls

  /** Numbers and dates a flight's call and arms its timeout. */
  private void begin(Flight<P> flight) {
    flight.seq = sequence.incrementAndGet();
    long start = now();
    flight.startedAt = start;
    flight.deadline = Durations.saturatedAdd(start, timeoutNanos);
    flight.future.whenComplete((r, t) -> {
      java.util.concurrent.Future<?> timer = flight.timer;
      if (timer != null) {
        timer.cancel(false);
      }
    });
    arm(flight, timeoutNanos);
  }

  private void arm(Flight<P> flight, long delayNanos) {
    if (!systemTicker || flight.future.isDone() || delayNanos == Long.MAX_VALUE) {
      return; // a test clock moves when the test says: later events and blocking waiters watch it
    }
    try {
      flight.timer = Timer.INSTANCE.schedule(() -> onTimer(flight), delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException impossible) {
      return; // the shared timer never shuts down; later events on the device still time it out
    }
    if (flight.future.isDone()) {
      flight.timer.cancel(false);
    }
  }

  private void onTimer(Flight<P> flight) {
    if (flight.future.isDone()) {
      return;
    }
    long remaining = flight.deadline - now();
    if (remaining > 0) {
      arm(flight, remaining);
      return;
    }
    try {
      executor.execute(() -> timeOut(flight));
    } catch (RuntimeException rejected) {
      timeOut(flight);
    }
  }

  private void timeOut(Flight<P> flight) {
    Outcome<P> outcome = null;
    long now = now();
    ReentrantLock lock = lockFor(flight.deviceId);
    lock.lock();
    try {
      if (!flight.future.isDone() && !flight.revoked && now >= flight.deadline) {
        outcome = timeOutLocked(flight, now);
      }
    } finally {
      lock.unlock();
    }
    if (outcome != null) {
      finish(List.of(outcome));
    }
  }

  /** Times out the device's flights past their deadline; the caller holds the lock and then finishes them. */
  private List<Outcome<P>> timeOutOverdueLocked(String id, long now) {
    List<Outcome<P>> outcomes = null;
    for (Flight<P> flight : flights.of(id)) {
      if (!flight.future.isDone() && now >= flight.deadline) {
        if (outcomes == null) {
          outcomes = new ArrayList<>(2);
        }
        outcomes.add(timeOutLocked(flight, now));
      }
    }
    return outcomes == null ? List.of() : outcomes;
  }

  private Outcome<P> timeOutLocked(Flight<P> flight, long now) {
    TimeoutException timeout = new TimeoutException("no answer within " + Duration.ofNanos(timeoutNanos));
    flights.remove(flight);
    return failedLocked(flight, timeout, now, flight.deadline); // it failed at its deadline, however late seen
  }

  /** Completes futures and emits events for outcomes decided under a lock, after releasing it. */
  private void finish(List<Outcome<P>> outcomes) {
    for (Outcome<P> outcome : outcomes) {
      if (outcome.event != null) {
        listener.onEvent(outcome.event);
      }
      outcome.flight.future.complete(outcome.resolution);
    }
  }

  /** Calls the backend (through the guard) for a flight; {@code copy} is wiped when it completes. */
  private void call(Flight<P> flight, DeviceCredentials copy) {
    begin(flight);
    CompletionStage<Verified<P>> stage;
    try {
      stage = guard == null ? callBackend(flight, copy) : guard.callAsync(() -> callBackend(flight, copy));
      Objects.requireNonNull(stage, "guard returned a null stage");
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    try {
      stage.whenComplete((verified, failure) -> {
        copy.wipe();
        complete(flight, verified, failure);
      });
    } catch (RuntimeException brokenStage) {
      // A foreign stage that throws instead of registering the callback: a failure, never a hang.
      copy.wipe();
      complete(flight, null, brokenStage);
    }
  }

  private CompletionStage<Verified<P>> callBackend(Flight<P> flight, DeviceCredentials copy) {
    flight.reachedBackend = true;
    backendCalls.increment();
    try {
      CompletionStage<Verified<P>> stage = backend.authenticateAsync(copy);
      return stage != null ? stage
          : CompletableFuture.failedFuture(new NullPointerException("backend returned a null stage"));
    } catch (RuntimeException | Error e) {
      // A backend that throws instead of failing its stage is a failure, never a hang.
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Records a call's answer in the cache, then (unless it timed out or was revoked first) wakes its waiters. */
  private void complete(Flight<P> flight, Verified<P> verified, Throwable failure) {
    Throwable cause = Causes.unwrap(failure);
    if (cause == null && verified == null) {
      cause = new NullPointerException("backend returned a null verdict");
    }
    List<Outcome<P>> outcomes = new ArrayList<>(2);
    long now = now();
    ReentrantLock lock = lockFor(flight.deviceId);
    lock.lock();
    try {
      boolean late = flight.future.isDone();
      if (!late && !flight.revoked && now >= flight.deadline) {
        // Past the deadline: its waiters were owed a timeout by now, whoever notices first.
        outcomes.add(timeOutLocked(flight, now));
        late = true;
      }
      // A late answer (its flight timed out, so invalidate() could not revoke it) from a call that
      // started before an invalidation of its stripe is discarded: it may be about a revoked device.
      if (flight.revoked || (late && flight.seq <= invalidatedThrough[stripeOf(flight.deviceId)])) {
        outcomes.add(new Outcome<>(flight, discarded(flight.deviceId), null));
      } else if (cause == null) {
        outcomes.add(acceptedLocked(flight, verified, now));
      } else if (cause instanceof AuthenticationException) {
        outcomes.add(refusedLocked(flight, cause, now));
      } else if (!flight.future.isDone()) {
        outcomes.add(failedLocked(flight, cause, now, now));
      }
      flights.remove(flight);
      Entry<P> entry = cache.getIfPresent(flight.deviceId);
      if (entry != null && entry.accepted != null && entry.accepted.matches(flight.digest)) {
        entry.accepted.releaseRefresh(); // no-op on a fresh answer; lets a kept one refresh again
      }
    } catch (RuntimeException | Error e) {
      flights.remove(flight);
      outcomes.add(new Outcome<>(flight, internalError(flight.deviceId, e), null));
    } finally {
      lock.unlock();
    }
    finish(outcomes);
  }

  private Outcome<P> acceptedLocked(Flight<P> flight, Verified<P> verified, long now) {
    Event event = new Event(name, Event.Kind.SUCCEEDED, Duration.ZERO,
        "backend verified device '" + flight.deviceId + "'", null);
    long stated = verified.validForNanos();
    long life = stated < 0 ? ttlNanos : Math.min(ttlNanos, stated);
    Entry<P> entry = orEmpty(cache.getIfPresent(flight.deviceId));
    Entry.Accepted<P> held = entry.accepted;
    Entry.Refused refusal = entry.refusalOf(flight.digest);
    boolean newest = (held == null || held.seq < flight.seq || now >= held.evictAt)
        && (refusal == null || refusal.seq < flight.seq);
    if (flight.paid) {
      entry = entry.refunded(now, intervalNanos); // the allowance bounds secrets the backend refuses
    }
    if (newest) {
      Entry<P> next = entry.without(flight.digest).withAccepted(accepted(flight, verified.principal(), life));
      store(flight.deviceId, next, now);
      boolean inTime = life <= 0 || now - flight.startedAt < life; // "do not cache": this answer only
      return new Outcome<>(flight, inTime ? Resolution.accept(verified.principal())
          : Resolution.refuse(unavailable(flight.deviceId, "the answer expired in transit", 0, null)), event);
    }
    // A later call's verdict is held: the waiters get the newest word on their secret.
    store(flight.deviceId, entry, now);
    return new Outcome<>(flight, newestVerdict(flight, entry, now, Resolution.accept(verified.principal())), event);
  }

  private Outcome<P> refusedLocked(Flight<P> flight, Throwable cause, long now) {
    Event event = new Event(name, Event.Kind.SUCCEEDED, Duration.ZERO,
        "backend refused device '" + flight.deviceId + "': invalid credentials", null);
    Entry<P> entry = orEmpty(cache.getIfPresent(flight.deviceId));
    Entry.Accepted<P> held = entry.accepted;
    Entry.Refused refusal = entry.refusalOf(flight.digest);
    boolean heldMatches = held != null && held.matches(flight.digest) && now < held.evictAt;
    boolean newest = (!heldMatches || held.seq < flight.seq) && (refusal == null || refusal.seq < flight.seq);
    if (newest) {
      Entry<P> next = heldMatches ? entry.withAccepted(null) : entry; // the backend took back its word
      store(flight.deviceId, next.withRefused(new Entry.Refused(flight.digest, flight.startedAt, flight.seq),
          allowance), now);
      boolean inTime = now - flight.startedAt < negativeTtlNanos;
      return new Outcome<>(flight, inTime ? Resolution.refuse(invalid(flight.deviceId, cause))
          : Resolution.refuse(unavailable(flight.deviceId, "the refusal expired in transit", 0, null)), event);
    }
    return new Outcome<>(flight, newestVerdict(flight, entry, now, null), event);
  }

  /** The newest verdict held about a flight's digest, for its waiters, or {@code otherwise}. */
  private Resolution<P> newestVerdict(Flight<P> flight, Entry<P> entry, long now, Resolution<P> otherwise) {
    Entry.Accepted<P> held = entry.acceptedFor(flight.digest, now);
    if (held != null && held.seq > flight.seq && now < held.expireAt) {
      return Resolution.accept(held.principal);
    }
    Entry.Refused refusal = entry.refusalOf(flight.digest);
    if (refusal != null && refusal.seq > flight.seq && now - refusal.written < negativeTtlNanos) {
      return Resolution.refuse(invalid(flight.deviceId, null));
    }
    return otherwise != null ? otherwise
        : Resolution.refuse(unavailable(flight.deviceId, "conflicting verdicts; ask again", 0, null));
  }

  private Outcome<P> failedLocked(Flight<P> flight, Throwable cause, long now, long failedAt) {
    backendFailures.increment();
    long hint = cause instanceof RejectedException ? ((RejectedException) cause).retryAfterNanos() : -1;
    // The guard shedding load (a full bulkhead, a limiter) says nothing about the backend's health:
    // the device comes back at the guard's hint, or at once when it gives none (a full bulkhead
    // cannot know when a call will end). A failure of the backend itself earns the cool-down.
    boolean shed = cause instanceof RejectedException && !flight.reachedBackend;
    long pause = shed ? Math.max(hint, 0) : Math.max(failureCooldownNanos, hint);
    Event event = new Event(name, Event.Kind.FAILED, Duration.ofNanos(pause),
        "backend failed verifying device '" + flight.deviceId + "'", cause);
    Entry<P> entry = orEmpty(cache.getIfPresent(flight.deviceId))
        .withBackoffUntil(Durations.saturatedAdd(failedAt, pause));
    store(flight.deviceId, entry, now);
    Entry.Accepted<P> held = entry.acceptedFor(flight.digest, now);
    Resolution<P> resolution;
    if (held != null && held.servable) {
      resolution = now < held.expireAt ? Resolution.accept(held.principal) : Resolution.stale(held.principal);
    } else {
      resolution = Resolution.refuse(unavailable(flight.deviceId, "backend unavailable",
          Math.max(entry.backoffUntil - now, 0), cause));
    }
    return new Outcome<>(flight, resolution, event);
  }

  private void store(String id, Entry<P> entry, long now) {
    if (entry.remainingNanos(now, negativeTtlNanos) > 0) {
      cache.put(id, entry);
    } else {
      cache.invalidate(id);
    }
  }

  private Entry.Accepted<P> accepted(Flight<P> flight, P principal, long life) {
    long written = flight.startedAt;
    if (life <= 0) {
      // "Valid, do not cache": never served, but the secret stays verified for a ttl.
      return new Entry.Accepted<>(flight.digest, principal, written, flight.seq, written, written,
          Durations.saturatedAdd(written, ttlNanos), false);
    }
    double u1;
    double u2;
    randomLock.lock();
    try {
      u1 = random.nextDouble();
      u2 = random.nextDouble();
    } finally {
      randomLock.unlock();
    }
    // refresh uniform in [L(1-f), L(1-f/2)), expiry uniform in (L(1-f/2), L]; see the class doc.
    double window = life * (refreshAhead / 2);
    long refreshOffset = (long) (life * (1 - refreshAhead)) + (long) (window * u1);
    long expireOffset = life - (long) (window * u2);
    long expireAt = Durations.saturatedAdd(written, expireOffset);
    return new Entry.Accepted<>(flight.digest, principal, written, flight.seq,
        Durations.saturatedAdd(written, Math.min(refreshOffset, expireOffset)), expireAt,
        Durations.saturatedAdd(expireAt, maxStaleNanos), true);
  }

  /** A decided resolution for a flight's waiters, with the event to report. */
  private static final class Outcome<P> {
    final Flight<P> flight;
    final Resolution<P> resolution;
    final Event event;

    Outcome(Flight<P> flight, Resolution<P> resolution, Event event) {
      this.flight = flight;
      this.resolution = resolution;
      this.event = event;
    }
  }

  /** Detects call deadlines: one daemon thread for the JVM, started on first use. */
  private static final class Timer {
    static final ScheduledThreadPoolExecutor INSTANCE = create();

    private static ScheduledThreadPoolExecutor create() {
      ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, task -> {
        Thread t = new Thread(task, "shepherd-auth-timeout");
        t.setDaemon(true);
        return t;
      });
      timer.setRemoveOnCancelPolicy(true);
      return timer;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private AuthenticationException invalid(String id, Throwable cause) {
    return new AuthenticationException("'" + name + "' refused device '" + id + "': invalid credentials", cause);
  }

  private BackendUnavailableException unavailable(String id, String why, long retryAfterNanos, Throwable cause) {
    return new BackendUnavailableException(name, "'" + name + "' could not verify device '" + id + "': " + why,
        Duration.ofNanos(Math.max(0, retryAfterNanos)), cause);
  }

  private Resolution<P> discarded(String id) {
    return Resolution.refuse(new BackendUnavailableException(name, "'" + name
        + "' discarded the verification of device '" + id + "': invalidated while in flight",
        Duration.ZERO, null));
  }

  private Resolution<P> internalError(String id, Throwable cause) {
    return Resolution.refuse(new BackendUnavailableException(name, "'" + name
        + "' could not verify device '" + id + "': internal error", null, cause));
  }

  private void emit(Event.Kind kind, Duration delay, String detail, Throwable cause) {
    listener.onEvent(kind == Event.Kind.REJECTED
        ? Event.rejected(name, delay, 1, detail, cause) : new Event(name, kind, delay, detail, cause));
  }

  @Override
  public String toString() {
    return "CachingAuthenticator{name=" + name + ", ttl=" + ttl + ", maximumSize=" + maximumSize
        + ", size=" + cache.estimatedSize() + ", backend=" + backend + "}";
  }

  /**
   * Counters of a {@link CachingAuthenticator}, cumulative since it was built.
   *
   * @param hits requests answered from the cache alone, without waiting for the backend (fresh
   *     acceptances and cached refusals)
   * @param misses requests that waited for a backend answer (their own call or a shared one)
   * @param backendCalls calls made to the backend (fills, refreshes, unverified secrets); calls the
   *     guard refused are not counted
   * @param backendFailures backend calls that failed, timed out or were refused by the guard
   * @param staleServed requests accepted with a stale answer because the backend was failing
   * @param refusals requests refused, as invalid or as unavailable (including the allowance's
   *     deferrals)
   */
  public record Stats(long hits, long misses, long backendCalls, long backendFailures, long staleServed,
      long refusals) {}

  /**
   * Builds a {@link CachingAuthenticator}. Not thread-safe. Every setter validates its argument at
   * once and throws {@link IllegalArgumentException} naming the parameter and the value.
   *
   * <p>Defaults: name {@code "auth"}, ttl 5 minutes, refreshAhead 0.2, negativeTtl 5 seconds,
   * maxStale 30 minutes, unverifiedAllowance 3, rotationCheckInterval 30 seconds, failureCooldown
   * 10 seconds, backendTimeout 5 seconds, maximumSize 100,000, no guard, the system ticker, a
   * {@link SplittableRandom} seeded from entropy, {@link ForkJoinPool#commonPool()}, and
   * {@link EventListener#logging()}.
   *
   * @param <P> the principal type
   */
  public static final class Builder<P> {
    private final Authenticator<DeviceCredentials, Verified<P>> backend;
    private String name = "auth";
    private Duration ttl = Duration.ofMinutes(5);
    private double refreshAhead = 0.2;
    private Duration negativeTtl = Duration.ofSeconds(5);
    private Duration maxStale = Duration.ofMinutes(30);
    private Duration rotationCheckInterval = Duration.ofSeconds(30);
    private Duration failureCooldown = Duration.ofSeconds(10);
    private Duration backendTimeout = Duration.ofSeconds(5);
    private int allowance = 3;
    private long maximumSize = 100_000;
    private Policy guard;
    private Ticker ticker = Ticker.system();
    private RandomGenerator random;
    private Executor executor = ForkJoinPool.commonPool();
    private EventListener listener;

    private Builder(Authenticator<DeviceCredentials, Verified<P>> backend) {
      this.backend = backend;
    }

    /**
     * Sets the instance's name, used in events and messages.
     *
     * @param name a non-blank name
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder<P> name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Sets the longest time a positive answer is served without asking the backend again; a
     * backend-stated {@link Verified#validFor()} shortens it, never lengthens it.
     *
     * @param ttl a positive duration
     * @return this builder
     * @throws NullPointerException if {@code ttl} is null
     * @throws IllegalArgumentException if {@code ttl} is zero or negative
     */
    public Builder<P> ttl(Duration ttl) {
      this.ttl = Checks.positive(ttl, "ttl");
      return this;
    }

    /**
     * Sets the fraction {@code f} of an answer's lifetime {@code L} that the refresh and expiry
     * windows cover: the refresh instant is uniform in {@code [L(1-f), L(1-f/2))}, the expiry
     * uniform in {@code (L(1-f/2), L]}. Zero disables both refresh-ahead and the jitter.
     *
     * @param fraction a value in {@code [0, 1]}
     * @return this builder
     * @throws IllegalArgumentException if {@code fraction} is NaN or outside {@code [0, 1]}
     */
    public Builder<P> refreshAhead(double fraction) {
      this.refreshAhead = Checks.inRange(fraction, 0, 1, "refreshAhead");
      return this;
    }

    /**
     * Sets how long a refusal ("invalid credentials") is remembered for that device and exact
     * secret, counted from the start of the backend call that refused it.
     *
     * @param negativeTtl a positive duration
     * @return this builder
     * @throws NullPointerException if {@code negativeTtl} is null
     * @throws IllegalArgumentException if {@code negativeTtl} is zero or negative
     */
    public Builder<P> negativeTtl(Duration negativeTtl) {
      this.negativeTtl = Checks.positive(negativeTtl, "negativeTtl");
      return this;
    }

    /**
     * Sets how long past its expiry a positive answer may still be served while the backend fails.
     *
     * @param maxStale zero (never serve stale) or more
     * @return this builder
     * @throws NullPointerException if {@code maxStale} is null
     * @throws IllegalArgumentException if {@code maxStale} is negative
     */
    public Builder<P> maxStale(Duration maxStale) {
      this.maxStale = Checks.nonNegative(maxStale, "maxStale");
      return this;
    }

    /**
     * Sets how many backend calls for unverified secrets (any secret but the one the backend last
     * vouched for, still held) a device may make at once; the allowance refills by one every
     * {@link #rotationCheckInterval(Duration) rotationCheckInterval}. It also bounds how many
     * refusals are remembered per device. See the class documentation for the trade-off; 2 or more
     * lets a stray wrong secret cost a device's new secret nothing.
     *
     * @param calls at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code calls} is less than 1
     */
    public Builder<P> unverifiedAllowance(int calls) {
      this.allowance = Checks.positive(calls, "unverifiedAllowance");
      return this;
    }

    /**
     * Sets how often a device's allowance of calls for unverified secrets (a rotated secret, a
     * wrong one, any secret of a device not cached) refills, by one call. When it is spent, an
     * unverified secret is refused with {@link BackendUnavailableException} and a retry-after of at
     * most this interval, never as invalid.
     *
     * @param interval a positive duration
     * @return this builder
     * @throws NullPointerException if {@code interval} is null
     * @throws IllegalArgumentException if {@code interval} is zero or negative
     */
    public Builder<P> rotationCheckInterval(Duration interval) {
      this.rotationCheckInterval = Checks.positive(interval, "rotationCheckInterval");
      return this;
    }

    /**
     * Sets how long a device's backend calls pause after one failed or timed out; the backend's
     * retry-after extends it. Stale answers are served meanwhile (within {@code maxStale}); other
     * requests for the device are refused as unavailable with the remaining pause as retry-after.
     *
     * @param cooldown a positive duration
     * @return this builder
     * @throws NullPointerException if {@code cooldown} is null
     * @throws IllegalArgumentException if {@code cooldown} is zero or negative
     */
    public Builder<P> failureCooldown(Duration cooldown) {
      this.failureCooldown = Checks.positive(cooldown, "failureCooldown");
      return this;
    }

    /**
     * Sets how long after a backend call started its waiters are answered without it: stale if
     * allowed, otherwise {@link BackendUnavailableException} with the failure cool-down as
     * retry-after. The call itself is not cancelled; its answer, if it comes, is still recorded.
     *
     * @param timeout a positive duration
     * @return this builder
     * @throws NullPointerException if {@code timeout} is null
     * @throws IllegalArgumentException if {@code timeout} is zero or negative
     */
    public Builder<P> backendTimeout(Duration timeout) {
      this.backendTimeout = Checks.positive(timeout, "backendTimeout");
      return this;
    }

    /**
     * Sets the most devices the cache holds.
     *
     * @param maximumSize at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code maximumSize} is less than 1
     */
    public Builder<P> maximumSize(long maximumSize) {
      this.maximumSize = Checks.positive(maximumSize, "maximumSize");
      return this;
    }

    /**
     * Sets the policy every backend call runs under, for example a bulkhead and a rate limiter
     * composed with {@link Policy#compose(Policy...)}. Its {@link RejectedException} counts as a
     * backend failure: stale answers are served if allowed, otherwise the request is refused as
     * unavailable with the rejection's retry-after. Unlike a failure of the backend itself, a
     * refusal by the guard starts no {@code failureCooldown}: shedding load says nothing about the
     * backend's health.
     *
     * @param guard the policy, or {@code null} for none
     * @return this builder
     */
    public Builder<P> guard(Policy guard) {
      this.guard = guard;
      return this;
    }

    /**
     * Sets the time source for this instance and its Caffeine cache.
     *
     * @param ticker the ticker, for example a {@code ManualClock} in tests
     * @return this builder
     * @throws NullPointerException if {@code ticker} is null
     */
    public Builder<P> ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets the source of the refresh and expiry jitter; a seeded generator makes it reproducible.
     * Draws are serialised by the authenticator, so a non-thread-safe generator is fine.
     * (The HMAC key never comes from here; it comes from {@link java.security.SecureRandom}.)
     *
     * @param random the generator
     * @return this builder
     * @throws NullPointerException if {@code random} is null
     */
    public Builder<P> random(RandomGenerator random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    /**
     * Sets the executor for background refreshes, timeouts and Caffeine's maintenance;
     * {@code Runnable::run} makes them run on the calling (or timer) thread, which tests use.
     *
     * @param executor the executor
     * @return this builder
     * @throws NullPointerException if {@code executor} is null
     */
    public Builder<P> executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * Sets the listener for this instance's events; it is {@linkplain EventListener#guarded
     * guarded}.
     *
     * @param listener the listener
     * @return this builder
     * @throws NullPointerException if {@code listener} is null
     */
    public Builder<P> listener(EventListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Builds the authenticator, with a fresh random HMAC key and an empty cache.
     *
     * @return the authenticator
     */
    public CachingAuthenticator<P> build() {
      if (listener == null) {
        listener = EventListener.logging();
      }
      return new CachingAuthenticator<>(this);
    }
  }
}
