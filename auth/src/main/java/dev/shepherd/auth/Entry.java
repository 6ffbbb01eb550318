package dev.shepherd.auth;

import com.github.benmanes.caffeine.cache.Expiry;
import dev.shepherd.core.internal.Durations;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.security.MessageDigest;

/*
 * One device's cached verdict: what the backend vouched for (positive) or refused (negative), as
 * an HMAC digest of the secret, never the secret.
 *
 * All times are offsets in nanoseconds from `written`, compared with the elapsed time
 * `now - written`. The subtraction is exact for any ticker origin (even near overflow) as long as
 * less than 292 years pass, and the offsets saturate instead of wrapping, so a "forever" maxStale
 * stays forever.
 *
 * Positive:  0 ... refreshOffset ... expireOffset ... evictOffset
 *            fresh | fresh, refresh   | stale: served | gone
 *                  | ahead in the     | only while the
 *                  | background       | backend fails
 * Negative:  0 ... expireOffset (= evictOffset): refused without asking the backend
 *
 * The three mutable fields are hints updated with VarHandles (no extra objects per entry):
 * - backoffUntil: after a backend failure, no refresh and no revalidation before this offset;
 *   a racing max() may lose to a slightly smaller value, which only shortens one backoff: benign.
 * - nextRotationCheck: a mismatching secret may re-ask the backend once this offset has passed;
 *   claimed by CAS, so at most one re-ask per interval whatever the concurrency.
 * - refreshing: claimed by CAS so that one request, not every hot request, starts a refresh.
 */
final class Entry<P> {

  static final long MAX_CAFFEINE_EXPIRY = Long.MAX_VALUE >> 1;
  private static final VarHandle BACKOFF_UNTIL;
  private static final VarHandle NEXT_ROTATION_CHECK;
  private static final VarHandle REFRESHING;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      BACKOFF_UNTIL = lookup.findVarHandle(Entry.class, "backoffUntil", long.class);
      NEXT_ROTATION_CHECK = lookup.findVarHandle(Entry.class, "nextRotationCheck", long.class);
      REFRESHING = lookup.findVarHandle(Entry.class, "refreshing", boolean.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final boolean positive;
  final byte[] digest;
  final P principal;
  final long written;
  final long refreshOffset;
  final long expireOffset;
  final long evictOffset;

  @SuppressWarnings("unused") // accessed through BACKOFF_UNTIL
  private volatile long backoffUntil;
  @SuppressWarnings("unused") // accessed through NEXT_ROTATION_CHECK
  private volatile long nextRotationCheck;
  @SuppressWarnings("unused") // accessed through REFRESHING
  private volatile boolean refreshing;

  private Entry(boolean positive, byte[] digest, P principal, long written,
      long refreshOffset, long expireOffset, long evictOffset) {
    this.positive = positive;
    this.digest = digest;
    this.principal = principal;
    this.written = written;
    this.refreshOffset = refreshOffset;
    this.expireOffset = expireOffset;
    this.evictOffset = evictOffset;
  }

  static <P> Entry<P> positive(byte[] digest, P principal, long written,
      long refreshOffset, long expireOffset, long maxStaleNanos) {
    return new Entry<>(true, digest, principal, written, refreshOffset, expireOffset,
        Durations.saturatedAdd(expireOffset, maxStaleNanos));
  }

  static <P> Entry<P> negative(byte[] digest, long written, long ttlNanos) {
    return new Entry<>(false, digest, null, written, Long.MAX_VALUE, ttlNanos, ttlNanos);
  }

  boolean matches(byte[] candidate) {
    return MessageDigest.isEqual(digest, candidate);
  }

  /** A positive entry for this digest that may be served without asking the backend. */
  boolean isFreshFor(byte[] candidate, long now) {
    return positive && now - written < expireOffset && matches(candidate);
  }

  boolean isAlive(long now) {
    return now - written < evictOffset;
  }

  long backoffUntil() {
    return (long) BACKOFF_UNTIL.getVolatile(this);
  }

  void backOff(long elapsed, long cooldownNanos) {
    long until = Durations.saturatedAdd(elapsed, cooldownNanos);
    long current;
    do {
      current = (long) BACKOFF_UNTIL.getVolatile(this);
      if (current >= until) {
        return;
      }
    } while (!BACKOFF_UNTIL.compareAndSet(this, current, until));
  }

  /** True for at most one caller per interval: it may re-ask the backend about another secret. */
  boolean claimRotationCheck(long elapsed, long intervalNanos) {
    long next = (long) NEXT_ROTATION_CHECK.getVolatile(this);
    return elapsed >= next
        && NEXT_ROTATION_CHECK.compareAndSet(this, next, Durations.saturatedAdd(elapsed, intervalNanos));
  }

  /** Carries the previous entry's rotation-check schedule over, so replacing does not reset it. */
  void inheritRotationCheck(Entry<P> previous) {
    if (previous == null || !previous.positive) {
      return;
    }
    long previousNext = (long) NEXT_ROTATION_CHECK.getVolatile(previous);
    long shift = written - previous.written;
    long inherited = shift >= 0 ? previousNext - shift : previousNext;
    if (inherited > 0) {
      NEXT_ROTATION_CHECK.setVolatile(this, inherited);
    }
  }

  boolean claimRefresh() {
    return REFRESHING.compareAndSet(this, false, true);
  }

  void releaseRefresh() {
    REFRESHING.setVolatile(this, false);
  }

  /** Nanoseconds until the entry is of no more use, in [0, MAX_CAFFEINE_EXPIRY]. */
  long remainingNanos(long now) {
    long elapsed = now - written;
    if (elapsed >= evictOffset) {
      return 0;
    }
    long remaining = elapsed <= 0 ? evictOffset : evictOffset - elapsed;
    return Math.min(remaining, MAX_CAFFEINE_EXPIRY);
  }

  @Override
  public String toString() {
    return (positive ? "Entry{positive" : "Entry{negative") + ", digest=<redacted>}";
  }

  /**
   * Caffeine's view: an entry lives until its evictOffset, whatever reads happen. Caffeine's clock
   * is ours minus {@code origin}; adding it back gives readings comparable with {@code written}.
   */
  static final class Lifetime<P> implements Expiry<String, Entry<P>> {

    private final long origin;

    Lifetime(long origin) {
      this.origin = origin;
    }

    @Override
    public long expireAfterCreate(String key, Entry<P> entry, long currentTime) {
      return entry.remainingNanos(currentTime + origin);
    }

    @Override
    public long expireAfterUpdate(String key, Entry<P> entry, long currentTime, long currentDuration) {
      return entry.remainingNanos(currentTime + origin);
    }

    @Override
    public long expireAfterRead(String key, Entry<P> entry, long currentTime, long currentDuration) {
      return currentDuration;
    }
  }
}
