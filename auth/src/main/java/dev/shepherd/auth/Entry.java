package dev.shepherd.auth;

import com.github.benmanes.caffeine.cache.Expiry;
import dev.shepherd.core.internal.Durations;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.security.MessageDigest;
import java.util.Arrays;

/*
 * One device's state in the cache: what the backend last vouched for, the secrets it refused
 * recently, the device's allowance of backend calls for unverified secrets, and its cool-down
 * after a failure. Secrets appear only as HMAC digests.
 *
 * Times are readings of the authenticator's internal clock (the ticker minus its reading at build
 * time, so they start near zero and "forever" saturates at Long.MAX_VALUE instead of wrapping).
 * Every verdict is dated by the *start* of the backend call that produced it: the backend decided
 * at or after that instant, so "accepted within ttl" and "refused within negativeTtl" hold for
 * the backend's real decision time however late its answer arrived.
 *
 *   accepted:  written ... refreshAt ... expireAt ... evictAt
 *              fresh     | fresh, refresh  | stale: served only while
 *                        | in background   | the backend fails, then gone
 *   refused:   written ... written + negativeTtl: 401 for that digest without asking
 *   allowance: GCRA on one number, tat: a call for an unverified secret conforms when
 *              max(tat, now) + interval - now <= burst * interval; a call the backend
 *              accepts is given back (tat -= interval), at most once per interval
 *   backoff:   no backend call for this device before backoffUntil
 *
 * Immutable: every change is a new Entry put under the device's lock (CachingAuthenticator), so
 * concurrent changes can never lose one another. The one mutable bit, Accepted.refreshing, is a
 * CAS-claimed hint living on the Accepted object, which successive entries share, so replacing the
 * entry for another reason (a token taken, a refusal added) neither resets nor duplicates it.
 */
final class Entry<P> {

  static final long MAX_CAFFEINE_EXPIRY = Long.MAX_VALUE >> 1;
  private static final Refused[] NONE = new Refused[0];

  /** What the backend last vouched for, or null. */
  final Accepted<P> accepted;
  /** Recent refusals, at most the device's allowance burst of them, oldest first. */
  final Refused[] refused;
  /** The allowance's theoretical arrival time; at or before now means a full allowance. */
  final long tat;
  /** No backend call for this device before this instant. */
  final long backoffUntil;
  /** When a call was last given back to the allowance (at most one per interval). */
  final long lastRefund;

  private Entry(Accepted<P> accepted, Refused[] refused, long tat, long backoffUntil, long lastRefund) {
    this.accepted = accepted;
    this.refused = refused;
    this.tat = tat;
    this.backoffUntil = backoffUntil;
    this.lastRefund = lastRefund;
  }

  /** The state of a device with no history: nothing known, full allowance, no cool-down. */
  static <P> Entry<P> empty() {
    return new Entry<>(null, NONE, Long.MIN_VALUE, Long.MIN_VALUE, Long.MIN_VALUE);
  }

  Entry<P> withAccepted(Accepted<P> a) {
    return new Entry<>(a, refused, tat, backoffUntil, lastRefund);
  }

  Entry<P> withTat(long newTat) {
    return new Entry<>(accepted, refused, newTat, backoffUntil, lastRefund);
  }

  /** Gives one call back to the allowance at {@code now}, unless one was given back within {@code interval}. */
  Entry<P> refunded(long now, long interval) {
    if (tat <= now || (lastRefund != Long.MIN_VALUE && now - lastRefund < interval)) {
      return this; // full already (this also keeps tat - interval from overflowing), or refunded recently
    }
    return new Entry<>(accepted, refused, tat - interval, backoffUntil, now);
  }

  Entry<P> withBackoffUntil(long until) {
    return new Entry<>(accepted, refused, tat, Math.max(backoffUntil, until), lastRefund);
  }

  /** Adds a refusal, replacing an older one for the same digest and dropping the oldest beyond {@code max}. */
  Entry<P> withRefused(Refused r, int max) {
    Refused[] kept = without(r.digest).refused;
    int keep = Math.min(kept.length, max - 1);
    Refused[] next = Arrays.copyOfRange(kept, kept.length - keep, kept.length + 1);
    next[keep] = r;
    return new Entry<>(accepted, next, tat, backoffUntil, lastRefund);
  }

  /** This entry without any refusal of {@code digest}. */
  Entry<P> without(byte[] digest) {
    int n = 0;
    for (Refused r : refused) {
      if (!r.matches(digest)) {
        n++;
      }
    }
    if (n == refused.length) {
      return this;
    }
    Refused[] next = new Refused[n];
    int i = 0;
    for (Refused r : refused) {
      if (!r.matches(digest)) {
        next[i++] = r;
      }
    }
    return new Entry<>(accepted, next, tat, backoffUntil, lastRefund);
  }

  /** The refusal of {@code digest}, or null. */
  Refused refusalOf(byte[] digest) {
    for (Refused r : refused) {
      if (r.matches(digest)) {
        return r;
      }
    }
    return null;
  }

  /** Whether a refusal of {@code digest} is still live at {@code now}. */
  boolean refuses(byte[] digest, long now, long negativeTtlNanos) {
    Refused r = refusalOf(digest);
    return r != null && now - r.written < negativeTtlNanos;
  }

  /** The accepted answer for {@code digest} still of some use (fresh or stale) at {@code now}, or null. */
  Accepted<P> acceptedFor(byte[] digest, long now) {
    Accepted<P> a = accepted;
    return a != null && now < a.evictAt && a.matches(digest) ? a : null;
  }

  /**
   * Nanoseconds this entry still carries information at {@code now}, in [0, MAX_CAFFEINE_EXPIRY].
   * (Once tat has passed the allowance is full, which an absent entry means too; lastRefund only
   * matters while the allowance is not full.)
   */
  long remainingNanos(long now, long negativeTtlNanos) {
    long end = Math.max(tat, backoffUntil);
    if (accepted != null) {
      end = Math.max(end, accepted.evictAt);
    }
    for (Refused r : refused) {
      end = Math.max(end, Durations.saturatedAdd(r.written, negativeTtlNanos));
    }
    return end <= now ? 0 : Math.min(end - now, MAX_CAFFEINE_EXPIRY);
  }

  @Override
  public String toString() {
    return "Entry{accepted=" + (accepted != null) + ", refused=" + refused.length + ", digests=<redacted>}";
  }

  /** The backend vouched for {@code digest}; times are absolute readings of the internal clock. */
  static final class Accepted<P> {
    private static final VarHandle REFRESHING;

    static {
      try {
        REFRESHING = MethodHandles.lookup().findVarHandle(Accepted.class, "refreshing", boolean.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    final byte[] digest;
    final P principal;
    /** When the backend call that vouched started; the sequence number of that call. */
    final long written;
    final long seq;
    final long refreshAt;
    final long expireAt;
    final long evictAt;
    /**
     * False for a "valid, do not cache" answer: it is never served (fresh or stale), but its
     * secret stays verified until evictAt, so asking again does not spend the allowance.
     */
    final boolean servable;
    @SuppressWarnings("unused") // accessed through REFRESHING
    private volatile boolean refreshing;

    Accepted(byte[] digest, P principal, long written, long seq, long refreshAt, long expireAt, long evictAt,
        boolean servable) {
      this.servable = servable;
      this.digest = digest;
      this.principal = principal;
      this.written = written;
      this.seq = seq;
      this.refreshAt = refreshAt;
      this.expireAt = expireAt;
      this.evictAt = evictAt;
    }

    boolean matches(byte[] candidate) {
      return MessageDigest.isEqual(digest, candidate);
    }

    /** True for one caller until {@link #releaseRefresh()}: it starts the background refresh. */
    boolean claimRefresh() {
      return REFRESHING.compareAndSet(this, false, true);
    }

    void releaseRefresh() {
      REFRESHING.setVolatile(this, false);
    }

    @Override
    public String toString() {
      return "Accepted{digest=<redacted>}";
    }
  }

  /** The backend refused {@code digest} in the call that started at {@code written}. */
  static final class Refused {
    final byte[] digest;
    final long written;
    final long seq;

    Refused(byte[] digest, long written, long seq) {
      this.digest = digest;
      this.written = written;
      this.seq = seq;
    }

    boolean matches(byte[] candidate) {
      return MessageDigest.isEqual(digest, candidate);
    }

    @Override
    public String toString() {
      return "Refused{digest=<redacted>}";
    }
  }

  /** Caffeine's view: an entry lives while it carries information, whatever reads happen. */
  static final class Lifetime<P> implements Expiry<String, Entry<P>> {

    private final long negativeTtlNanos;

    Lifetime(long negativeTtlNanos) {
      this.negativeTtlNanos = negativeTtlNanos;
    }

    @Override
    public long expireAfterCreate(String key, Entry<P> entry, long currentTime) {
      return entry.remainingNanos(currentTime, negativeTtlNanos);
    }

    @Override
    public long expireAfterUpdate(String key, Entry<P> entry, long currentTime, long currentDuration) {
      return entry.remainingNanos(currentTime, negativeTtlNanos);
    }

    @Override
    public long expireAfterRead(String key, Entry<P> entry, long currentTime, long currentDuration) {
      return currentDuration;
    }
  }
}
