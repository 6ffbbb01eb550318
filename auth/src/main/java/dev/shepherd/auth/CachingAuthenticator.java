package dev.shepherd.auth;

import dev.shepherd.core.internal.Causes;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.core.RejectedException;
import dev.shepherd.core.Ticker;
import java.time.Duration;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.random.RandomGenerator;

/**
 * An authenticator in front of a backend (an HTTP service, a database) that absorbs reconnect
 * storms and fails safe: one backend call per device however many reconnects arrive together, the
 * last known good answer while the backend is down, and never a wrong secret accepted.
 *
 * <h2>Guarantees</h2>
 * <ul>
 *   <li><b>Single flight.</b> Concurrent requests for the same device and secret share one backend
 *       call. (Requests with a different secret need their own verdict, so they get their own call;
 *       at most {@value #MAX_FLIGHTS_PER_DEVICE} distinct secrets per device are verified at once,
 *       further ones are refused as unavailable.)
 *   <li><b>Secrets are never stored.</b> The cache holds, per device, an HMAC-SHA256 of the secret
 *       the backend accepted (or refused), under a random key that exists only in this instance.
 *       Every presented secret is digested and compared in constant time. A wrong secret for a
 *       cached device is refused and neither replaces nor evicts the good entry.
 *   <li><b>Rotation.</b> A secret that does not match the cached one may have been rotated, so the
 *       backend is asked again, but at most once per device per {@code rotationCheckInterval};
 *       other mismatches are refused as invalid. The new secret replaces the old one once the
 *       backend vouches for it.
 *   <li><b>Freshness.</b> An answer is served for at most {@code ttl}, and never longer than the
 *       backend said ({@link Verified#validFor()}). With {@code L = min(ttl, validFor)} and
 *       {@code f = refreshAhead}, each entry draws from the injected {@link RandomGenerator} a
 *       refresh instant uniform in {@code [L(1-f), L(1-f/2))} and an expiry uniform in
 *       {@code (L(1-f/2), L]} after it was written. The first request after the refresh instant is
 *       answered from the cache and starts a background call on the executor, so a device that
 *       keeps connecting never waits; and entries written in the same instant (after a storm)
 *       refresh and expire spread over those windows, not all at once again.
 *   <li><b>Negative caching.</b> "Invalid" is cached for {@code negativeTtl}, per device and
 *       secret, inside the same size bound. A backend <em>failure</em> is never cached as invalid
 *       and never reported as {@link AuthenticationException}.
 *   <li><b>Stale-if-error.</b> If the backend fails (or the guard refuses) when an entry has
 *       expired, the last positive answer is served for at most {@code maxStale} beyond its expiry,
 *       then refused with {@link BackendUnavailableException}. A device never seen is refused while
 *       the backend is down (fail closed). After a failure the device's backend calls pause for
 *       {@code failureCooldown} or the backend's retry-after, whichever is longer, and stale
 *       answers are served meanwhile, so a down backend is not hammered.
 *   <li><b>Revocation.</b> {@link #invalidate(String)} drops the device at once and discards any
 *       backend call in flight for it: its answer is not cached, and requests waiting for it are
 *       refused as unavailable (they retry and meet the backend's current verdict).
 *   <li><b>Bounded memory.</b> At most {@code maximumSize} entries (Caffeine's W-TinyLFU, which
 *       also keeps a flood of one-off random ids from evicting frequently used devices). Misses
 *       go through the optional {@code guard}, any core {@link Policy} (a bulkhead, a rate
 *       limiter, or both composed), so a flood of random ids cannot hammer the backend.
 *   <li><b>One clock.</b> The same {@link Ticker} drives this class and Caffeine's expiry, so a
 *       {@code ManualClock} controls all of it in tests.
 * </ul>
 *
 * <h2>Observability</h2>
 * {@link #stats()} returns cheap counters. Slow paths report {@link Event}s to the listener:
 * {@code SUCCEEDED}/{@code FAILED} per backend call, {@code FALLBACK} per stale answer,
 * {@code REJECTED} per refusal, {@code STATE_CHANGED} per invalidation. No secret appears in any
 * event, exception message, log line or {@code toString()}; device ids do (they are normalised
 * and contain no control characters).
 *
 * <h2>Threading</h2>
 * Thread-safe and non-blocking except that {@link #authenticate(DeviceCredentials)} waits for the
 * backend on a miss (on {@code java.util.concurrent} primitives, so virtual threads do not pin). A
 * hit costs one HMAC, one cache read and one counter increment. All backend calls go through the
 * backend's {@link Authenticator#authenticateAsync(Object)}; background refreshes are started on
 * the configured executor.
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
   * Design. Two structures, each correct on its own:
   *
   * 1. `cache` (Caffeine, bounded, expiring on our ticker) maps a normalised device id to an
   *    immutable Entry: the digest the backend vouched for or refused, and its time offsets.
   *    Every change of a device's entry after a backend answer happens in cache.asMap().compute,
   *    i.e. under Caffeine's lock for that key, and re-checks the state there: a refusal never
   *    replaces a live positive entry for another digest (no poisoning), and a revoked flight never
   *    inserts (no resurrection after invalidate).
   *
   * 2. `flights` (FlightTable) holds the backend calls in progress per (id, digest). It is not
   *    subject to eviction, so single flight holds even when the cache is full and Caffeine
   *    refuses to admit a new device. A flight is removed only after its answer is in the cache;
   *    a request that read the cache before that answer landed and then finds no flight creates
   *    one, and its creator re-reads the cache before calling the backend (answerFromCache), which
   *    then must see the answer. So a completed answer is never asked for twice.
   *
   * The read path is lock-free: one Caffeine read, a constant-time digest comparison, a LongAdder.
   * Everything else (misses, refreshes, stale answers, refusals) is the slow path, which may
   * allocate, lock per key and emit events.
   *
   * The secret itself lives only in the caller's DeviceCredentials and, for the duration of a
   * backend call, in a copy that the flight wipes when the call completes.
   */

  /** The most distinct secrets verified at once for one device; more are refused as unavailable. */
  public static final int MAX_FLIGHTS_PER_DEVICE = 8;

  private final String name;
  private final Authenticator<DeviceCredentials, Verified<P>> backend;
  private final Policy guard;
  private final Ticker ticker;
  private final Executor executor;
  private final EventListener listener;
  private final Duration ttl;
  private final long ttlNanos;
  private final long negativeTtlNanos;
  private final long maxStaleNanos;
  private final long rotationCheckNanos;
  private final long failureCooldownNanos;
  private final double refreshAhead;
  private final long maximumSize;
  private final RandomGenerator random;
  private final ReentrantLock randomLock = new ReentrantLock();
  private final Hmac hmac = Hmac.withRandomKey();
  private final Cache<String, Entry<P>> cache;
  private final FlightTable<P> flights = new FlightTable<>(MAX_FLIGHTS_PER_DEVICE);

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
    this.executor = b.executor;
    this.listener = EventListener.guarded(b.listener);
    this.ttl = b.ttl;
    this.ttlNanos = Durations.toNanosSaturated(b.ttl);
    this.negativeTtlNanos = Durations.toNanosSaturated(b.negativeTtl);
    this.maxStaleNanos = Durations.toNanosSaturated(b.maxStale);
    this.rotationCheckNanos = Durations.toNanosSaturated(b.rotationCheckInterval);
    this.failureCooldownNanos = Durations.toNanosSaturated(b.failureCooldown);
    this.refreshAhead = b.refreshAhead;
    this.maximumSize = b.maximumSize;
    this.random = b.random != null ? b.random : new SplittableRandom();
    // Caffeine reads the same clock, shifted to start at zero, so that its own arithmetic
    // (reading + duration) stays far from overflow whatever the ticker's origin; differences,
    // which is all either side uses, are unaffected by the shift.
    Ticker clock = this.ticker;
    long origin = clock.read();
    this.cache = Caffeine.newBuilder()
        .maximumSize(b.maximumSize)
        .ticker(() -> clock.read() - origin)
        .executor(b.executor)
        .expireAfter(new Entry.Lifetime<P>(origin))
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
   * backend on a miss.
   *
   * @param credentials the device's credentials; not wiped, and not retained after the call
   * @return the principal the backend vouched for
   * @throws AuthenticationException if the credentials are invalid (now, or cached as such)
   * @throws BackendUnavailableException if no verdict could be reached and no stale answer may be
   *     served; also if the thread is interrupted while waiting (the interrupt status is kept)
   * @throws NullPointerException if {@code credentials} is null
   * @throws IllegalStateException if the credentials were wiped
   */
  @Override
  public P authenticate(DeviceCredentials credentials) {
    Objects.requireNonNull(credentials, "credentials");
    String id = credentials.deviceId();
    byte[] digest = hmac.digest(credentials.secretRef());
    long now = ticker.read();
    Entry<P> entry = cache.getIfPresent(id);
    if (entry != null && entry.isFreshFor(digest, now)) {
      return hit(entry, id, digest, credentials, now);
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
   * completed by the backend's answer.
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
      long now = ticker.read();
      Entry<P> entry = cache.getIfPresent(id);
      if (entry != null && entry.isFreshFor(digest, now)) {
        return CompletableFuture.completedFuture(hit(entry, id, digest, credentials, now));
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
   * Drops everything cached for a device and discards any backend call in flight for it, so the
   * device's next request asks the backend afresh. Call it when a device is revoked (after
   * revoking it at the backend) or its secret is reset.
   *
   * <p>When this method returns, no answer obtained by a call that started before it can enter
   * the cache, and requests that were waiting for such a call are refused with
   * {@link BackendUnavailableException}.
   *
   * @param deviceId the device id, normalised by {@link DeviceCredentials#normalizeDeviceId}
   * @throws NullPointerException if {@code deviceId} is null
   * @throws IllegalArgumentException if {@code deviceId} breaks the normalisation rule
   */
  public void invalidate(String deviceId) {
    String id = DeviceCredentials.normalizeDeviceId(deviceId);
    // Order matters: mark the flights first, then remove the entry (see FlightTable).
    flights.revoke(id);
    cache.invalidate(id);
    emit(Event.Kind.STATE_CHANGED, Duration.ZERO, "device '" + id + "' invalidated", null);
  }

  /**
   * Drops every cached answer and discards every backend call in flight, as
   * {@link #invalidate(String)} does for each device.
   */
  public void invalidateAll() {
    flights.revokeAll();
    cache.invalidateAll();
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
   * Returns the approximate number of cached entries (positive and negative).
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

  // ---------------------------------------------------------------------------------------------
  // Read path

  private P hit(Entry<P> entry, String id, byte[] digest, DeviceCredentials credentials, long now) {
    hits.increment();
    long elapsed = now - entry.written;
    if (elapsed >= entry.refreshOffset) {
      maybeRefresh(entry, id, digest, credentials, elapsed);
    }
    return entry.principal;
  }

  /** Everything but a fresh hit: answer now from the cache, or a flight to wait for. */
  private Resolution<P> route(Entry<P> entry, String id, byte[] digest, DeviceCredentials credentials, long now) {
    if (entry != null && entry.isAlive(now)) {
      long elapsed = now - entry.written;
      if (entry.positive) {
        if (entry.matches(digest)) { // and not fresh: the callers answered fresh hits already
          if (elapsed < entry.backoffUntil()) { // the backend failed recently: do not ask again yet
            return Resolution.stale(entry.principal);
          }
          return pending(id, digest, credentials);
        }
        // Another secret than the one the backend vouched for: wrong, or rotated.
        Flight<P> inFlight = flights.find(id, digest);
        if (inFlight != null) {
          return Resolution.pending(inFlight);
        }
        if (entry.claimRotationCheck(elapsed, rotationCheckNanos)) {
          return pending(id, digest, credentials);
        }
        hits.increment();
        return Resolution.refuse(invalid(id, null));
      }
      if (entry.matches(digest)) { // negative and alive: refused recently
        hits.increment();
        return Resolution.refuse(invalid(id, null));
      }
    }
    return pending(id, digest, credentials);
  }

  /** Joins the flight for (id, digest), starting it if this request created it. */
  private Resolution<P> pending(String id, byte[] digest, DeviceCredentials credentials) {
    Flight<P> flight = flights.joinOrCreate(id, digest);
    if (flight == null) {
      return Resolution.refuse(new BackendUnavailableException(name, "'" + name
          + "' could not verify device '" + id + "': too many concurrent verifications of this device",
          null, null));
    }
    if (flight.claimStart()) {
      // Double check: this request read the cache before looking for a flight, so a flight for the
      // same digest may have finished in between (inserted its answer, then left the table). It
      // inserted before leaving, and this flight was created after it left, so reading the cache
      // now is guaranteed to see that answer: use it instead of calling the backend again.
      Resolution<P> cached = answerFromCache(id, digest);
      if (cached != null) {
        flights.remove(flight);
        flight.future.complete(cached);
      } else {
        call(flight, credentials.copy());
      }
    }
    return Resolution.pending(flight);
  }

  /** What the cache alone can answer for (id, digest) now, or null when the backend is needed. */
  private Resolution<P> answerFromCache(String id, byte[] digest) {
    long now = ticker.read();
    Entry<P> entry = cache.getIfPresent(id);
    if (entry == null || !entry.isAlive(now) || !entry.matches(digest)) {
      return null;
    }
    long elapsed = now - entry.written;
    if (!entry.positive) {
      return Resolution.refuse(invalid(id, null));
    }
    if (elapsed < entry.expireOffset) {
      return Resolution.accept(entry.principal);
    }
    return elapsed < entry.backoffUntil() ? Resolution.stale(entry.principal) : null;
  }

  private void maybeRefresh(Entry<P> entry, String id, byte[] digest, DeviceCredentials credentials, long elapsed) {
    if (elapsed < entry.backoffUntil() || !entry.claimRefresh()) {
      return;
    }
    Flight<P> flight = flights.joinOrCreate(id, digest);
    if (flight == null) {
      entry.releaseRefresh();
      return;
    }
    if (!flight.claimStart()) {
      return; // a call for this digest is already running; its answer replaces the entry
    }
    DeviceCredentials copy = credentials.copy();
    try {
      executor.execute(() -> call(flight, copy));
    } catch (RuntimeException rejected) {
      copy.wipe();
      complete(flight, null, rejected);
    }
  }

  private Resolution<P> await(Flight<P> flight) {
    try {
      return flight.future.get();
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

  /** Calls the backend (through the guard) for a flight; {@code copy} is wiped when it completes. */
  private void call(Flight<P> flight, DeviceCredentials copy) {
    CompletionStage<Verified<P>> stage;
    try {
      stage = guard == null ? callBackend(copy) : guard.callAsync(() -> callBackend(copy));
      Objects.requireNonNull(stage, "guard returned a null stage");
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    stage.whenComplete((verified, failure) -> {
      copy.wipe();
      complete(flight, verified, failure);
    });
  }

  private CompletionStage<Verified<P>> callBackend(DeviceCredentials copy) {
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

  /** Records a flight's answer in the cache, then wakes its waiters with one resolution. */
  private void complete(Flight<P> flight, Verified<P> verified, Throwable failure) {
    Resolution<P> resolution = null;
    try {
      Throwable cause = Causes.unwrap(failure);
      if (cause == null && verified == null) {
        cause = new NullPointerException("backend returned a null verdict");
      }
      long now = ticker.read();
      if (cause == null) {
        resolution = onVerified(flight, verified, now);
      } else if (cause instanceof AuthenticationException) {
        resolution = onRefused(flight, cause, now);
      } else {
        resolution = onFailed(flight, cause, now);
      }
    } finally {
      // Forget the flight only once its answer is in the cache; never leave waiters hanging.
      flights.remove(flight);
      flight.future.complete(resolution != null ? resolution : internalError(flight.deviceId, null));
    }
  }

  private Resolution<P> onVerified(Flight<P> flight, Verified<P> verified, long now) {
    emit(Event.Kind.SUCCEEDED, Duration.ZERO, "backend verified device '" + flight.deviceId + "'", null);
    long stated = verified.validForNanos();
    long life = stated < 0 ? ttlNanos : Math.min(ttlNanos, stated);
    Entry<P> fresh = life <= 0 ? null : positiveEntry(flight.digest, verified.principal(), now, life);
    cache.asMap().compute(flight.deviceId, (id, current) -> {
      if (flight.revoked) {
        return current;
      }
      if (fresh == null) {
        return null; // "valid, do not cache": the backend's latest word on this device
      }
      fresh.inheritRotationCheck(current);
      return fresh;
    });
    if (flight.revoked) {
      return discarded(flight.deviceId);
    }
    return Resolution.accept(verified.principal());
  }

  private Resolution<P> onRefused(Flight<P> flight, Throwable cause, long now) {
    emit(Event.Kind.SUCCEEDED, Duration.ZERO,
        "backend refused device '" + flight.deviceId + "': invalid credentials", null);
    cache.asMap().compute(flight.deviceId, (id, current) -> {
      if (flight.revoked) {
        return current;
      }
      if (current != null && current.positive && current.isAlive(now) && !current.matches(flight.digest)) {
        return current; // a wrong secret neither poisons nor evicts the good entry
      }
      return Entry.negative(flight.digest, now, negativeTtlNanos);
    });
    return Resolution.refuse(invalid(flight.deviceId, cause));
  }

  private Resolution<P> onFailed(Flight<P> flight, Throwable cause, long now) {
    backendFailures.increment();
    long hint = cause instanceof RejectedException ? ((RejectedException) cause).retryAfterNanos() : -1;
    emit(Event.Kind.FAILED, hint < 0 ? Duration.ZERO : Duration.ofNanos(hint),
        "backend failed verifying device '" + flight.deviceId + "'", cause);
    Entry<P> current = cache.getIfPresent(flight.deviceId);
    if (current != null && current.positive) {
      long elapsed = now - current.written;
      current.backOff(elapsed, Math.max(failureCooldownNanos, hint));
      current.releaseRefresh();
      if (!flight.revoked && current.matches(flight.digest)) {
        if (elapsed < current.expireOffset) {
          return Resolution.accept(current.principal);
        }
        if (elapsed < current.evictOffset) {
          return Resolution.stale(current.principal);
        }
      }
    }
    if (flight.revoked) {
      return discarded(flight.deviceId);
    }
    return Resolution.refuse(new BackendUnavailableException(name, "'" + name
        + "' could not verify device '" + flight.deviceId + "': backend unavailable",
        hint < 0 ? null : Duration.ofNanos(hint), cause));
  }

  private Entry<P> positiveEntry(byte[] digest, P principal, long now, long life) {
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
    return Entry.positive(digest, principal, now, Math.min(refreshOffset, expireOffset), expireOffset,
        maxStaleNanos);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private AuthenticationException invalid(String id, Throwable cause) {
    return new AuthenticationException("'" + name + "' refused device '" + id + "': invalid credentials", cause);
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
    listener.onEvent(new Event(name, kind, delay, detail, cause));
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
   * @param backendCalls calls made to the backend (fills, refreshes, rotation checks); calls the
   *     guard refused are not counted
   * @param backendFailures backend calls that failed or were refused by the guard
   * @param staleServed requests accepted with a stale answer because the backend was failing
   * @param refusals requests refused, as invalid or as unavailable
   */
  public record Stats(long hits, long misses, long backendCalls, long backendFailures, long staleServed,
      long refusals) {}

  /**
   * Builds a {@link CachingAuthenticator}. Not thread-safe. Every setter validates its argument at
   * once and throws {@link IllegalArgumentException} naming the parameter and the value.
   *
   * <p>Defaults: name {@code "auth"}, ttl 5 minutes, refreshAhead 0.2, negativeTtl 5 seconds,
   * maxStale 30 minutes, rotationCheckInterval 30 seconds, failureCooldown 10 seconds,
   * maximumSize 100,000, no guard, the system ticker, a {@link SplittableRandom} seeded from
   * entropy, {@link ForkJoinPool#commonPool()}, and {@link EventListener#logging()}.
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
     * Sets how long a refusal ("invalid credentials") is remembered for that device and secret.
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
     * Sets how often, at most, a secret that does not match a device's cached one is checked with
     * the backend (it may have been rotated). Other mismatches are refused as invalid.
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
     * Sets how long a cached device's backend calls pause after one failed; the backend's
     * retry-after extends it. Stale answers are served meanwhile (within {@code maxStale}).
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
     * Sets the most entries (devices, positive or negative) the cache holds.
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
     * unavailable with the rejection's retry-after.
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
     * Sets the executor for background refreshes and Caffeine's maintenance;
     * {@code Runnable::run} makes both run on the calling thread, which tests use.
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
