package dev.shepherd.ratelimit.redis;

import dev.shepherd.core.internal.Causes;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import dev.shepherd.core.internal.Permits;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import dev.shepherd.ratelimit.Rate;
import io.lettuce.core.RedisCommandExecutionException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;

/*
 * The engine behind RedisRateLimiter and RedisKeyedRateLimiter: one Redis round trip per check,
 * a timeout, and a circuit that keeps a dead Redis from costing every request a timeout.
 *
 * One round trip. A check is one EVALSHA of GcraScript on one key; the script decides and writes
 * atomically, so there is no client-side read-modify-write and no retry loop. Only after a restart
 * or failover (the script cache is empty: NOSCRIPT) does a check take two: the EVALSHA, then one
 * EVAL of the source on the same key (RedisTarget, which also hides standalone, master-replica and
 * cluster connections behind "run this script on this key"). The whole sequence shares one
 * deadline, the configured timeout, measured on
 * System.nanoTime (real time, because it bounds real network waits; the injected ticker times the
 * circuit and the fallback). A command that misses the deadline is cancelled (Lettuce then never
 * writes it if it has not yet; one already sent may still run, which only ever uses up permits,
 * never grants extra ones). The synchronous form waits without being interruptible, for at most
 * the timeout, and restores the interrupt status.
 *
 * Errors are of two kinds. "Unavailable" (timeouts, connection failures, and the server states
 * LOADING, BUSY, MASTERDOWN, CLUSTERDOWN, TRYAGAIN, READONLY, OOM, MISCONF, NOREPLICAS, NOSCRIPT
 * after the reload): the request is decided by the failure policy, and the circuit opens.
 * "Not understood" (a reply of the wrong shape, a malformed state at the key, any other error
 * reply): the request is refused whatever the policy, never granted, because an answer we cannot
 * read must not become a grant; the circuit stays as it is, since Redis itself is up. Both are
 * counted as Redis errors and reported as FAILED events carrying the exception.
 *
 * The circuit (RedisCircuit, with its own note) decides when to stop asking Redis and when to
 * probe it again; this class feeds it "unavailable" errors and gives it the probe: one
 * asynchronous SCRIPT LOAD with the timeout, which proves Redis answers and reloads the script an
 * empty cache needs.
 *
 * Leases and the fleet. In lease mode (Lease, with its proof) a check first spends from the
 * lease (one CAS; the keyed limiter's lease for the key, from LeaseTable), and only an empty lease
 * costs a script call; the fleet count (Fleet) is updated
 * on checks once per interval, and each change re-rates the local share (Local.share).
 *
 * Cost. The limiter itself adds no lock and, on the common request (one permit, no wait), no
 * allocation on the Redis path beyond what Lettuce allocates for the command (the argument array
 * is shared; the keyed limiter adds the key); grants emit no event. Rejections, errors and state
 * changes emit events (slow paths); a rejection builds none for the no-op listener.
 */
/** The Redis round trip, timeout, failure policy and counters shared by both limiters. */
final class RedisGcra {

  /** What a local fallback must offer: the local share of the limit, per key or global. */
  interface Local {
    long acquireOrRetryAfterNanos(String key, int permits);

    boolean tryAcquire(String key, int permits, Duration maxWait) throws InterruptedException;

    int burst();

    /** This server's share now. */
    Rate rate();

    String describe();

    /**
     * Re-rates the share for {@code servers} servers; {@code onFallback} says whether it is in use
     * now (a new share then starts empty, so a change never hands out an extra burst).
     */
    void share(int servers, boolean onFallback);
  }

  /** {@link #ask} result: Redis did not answer in time or is not serving. */
  static final long UNAVAILABLE = Long.MIN_VALUE;
  /** {@link #ask} result: Redis answered something that is not what the script returns. */
  static final long NOT_UNDERSTOOD = Long.MIN_VALUE + 1;

  private static final String[] UNAVAILABLE_CODES = {
    "LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY", "OOM", "MISCONF", "NOREPLICAS", "NOSCRIPT"
  };

  final String name;
  final RedisRate rate;
  final RedisCircuit circuit;
  final FailurePolicy policy;
  final int expectedServers;
  private final RedisTarget target;
  /** Lease mode's batch of permits for the global limiter, or null. */
  private final Lease lease;
  /** Lease mode's batches for the keyed limiter, one per key, or null. */
  private final LeaseTable leaseTable;
  /** The live-server count behind the share, or null when the share is fixed. */
  private final Fleet fleet;
  private final String intervalArg;
  private final String scaleArg;
  private final String tauArg;
  /** The arguments of the common check: one permit, no waiting. Never mutated. */
  private final String[] oneNow;
  final long timeoutNanos;
  final long coolDownNanos;
  private final Local local;
  private final Sleeper sleeper;
  private final EventListener listener;

  private final LongAdder granted = new LongAdder();
  private final LongAdder rejected = new LongAdder();
  private final LongAdder redisErrors = new LongAdder();
  private final LongAdder fallbackDecisions = new LongAdder();
  private final LongAdder scriptLoads = new LongAdder();

  RedisGcra(Config config, RedisRate rate, Local local) {
    this.name = config.name;
    this.rate = rate;
    this.policy = config.failurePolicy;
    this.expectedServers = config.expectedServers;
    this.target = config.target();
    this.intervalArg = Long.toString(rate.interval);
    this.scaleArg = Long.toString(rate.scale);
    this.tauArg = Long.toString(rate.tau);
    this.oneNow = new String[] {intervalArg, scaleArg, tauArg, "1", "0"};
    this.timeoutNanos = Durations.toNanosSaturated(config.timeout);
    this.coolDownNanos = Durations.toNanosSaturated(config.coolDown);
    this.local = local;
    this.sleeper = config.sleeper;
    this.listener = config.guardedListener();
    this.circuit = new RedisCircuit(config.ticker, coolDownNanos, timeoutNanos, this::probe, transitions());
    this.lease = config.lease > 0 && config.leaseMaxKeys == 0 ? new Lease(config.lease) : null;
    this.leaseTable = config.lease > 0 && config.leaseMaxKeys > 0
        ? new LeaseTable(config.lease, config.leaseMaxKeys)
        : null;
    this.fleet = config.fleetTracked()
        ? new Fleet(target, config.fleetKey(), config.serverId, Durations.toNanosSaturated(config.fleetInterval()),
            config.fleetTtlMillis(), timeoutNanos, config.ticker, config.fleetSize, config.initialServers(),
            n -> local.share(n, circuit.isOpen()), config.heartbeat != null)
        : null;
    // Best effort, so the first check usually finds the scripts cached; failures are harmless.
    long deadline = System.nanoTime() + timeoutNanos;
    target.load(GcraScript.SCRIPT, deadline).exceptionally(e -> null);
    if (config.lease > 0) {
      target.load(LeaseScript.SCRIPT, deadline).exceptionally(e -> null);
    }
  }

  /** What the circuit's transitions report and count. */
  private RedisCircuit.Transitions transitions() {
    return new RedisCircuit.Transitions() {
      @Override
      public void opened(Throwable cause) {
        listener.onEvent(Event.fallback(
            name, Duration.ofNanos(coolDownNanos),
            "Redis unavailable; " + fallbackDescription() + " until Redis answers (probed every "
                + Duration.ofNanos(coolDownNanos) + ")",
            cause));
      }

      @Override
      public void closed(long openNanos) {
        scriptLoads.increment();
        listener.onEvent(Event.of(name, Event.Kind.STATE_CHANGED,
            "Redis answers again: back to the global limit after " + Duration.ofNanos(openNanos)
                + " on the fallback"));
      }

      @Override
      public void probeFailed(Throwable cause) {
        redisErrors.increment();
        listener.onEvent(Event.fallback(
            name, Duration.ofNanos(coolDownNanos),
            "Redis still unavailable; " + fallbackDescription(), Causes.unwrap(cause)));
      }
    };
  }

  // ---------------------------------------------------------------- checks

  /** One check that does not wait: 0 if granted, otherwise the retry-after in nanoseconds. */
  long acquire(String[] keys, String localKey, int permits) {
    checkPermits(permits);
    Lease lease = leaseFor(localKey);
    if (lease != null && lease.tryTake(permits)) {
      granted.increment(); // permits Redis granted to this limiter's lease: one CAS, no round trip
      return 0;
    }
    boolean allowed = circuit.allowed();
    if (fleet != null) {
      fleet.tick(allowed);
    }
    if (!allowed) {
      return decideLocally(localKey, permits);
    }
    if (lease != null && permits <= lease.size) {
      long r = lease.refillAndTake(permits, (need, want) -> askLease(keys, need, want));
      if (r != Lease.BUSY) {
        return settle(r, localKey, permits);
      }
      // Another caller is refilling: ask for these permits directly, exactly, without waiting.
    }
    return settle(ask(keys, permits, 0), localKey, permits);
  }

  /** The asynchronous {@link #acquire}; the stage never completes exceptionally. */
  CompletableFuture<Long> acquireAsync(String[] keys, String localKey, int permits) {
    checkPermits(permits);
    Lease lease = leaseFor(localKey);
    if (lease != null && lease.tryTake(permits)) {
      granted.increment();
      return CompletableFuture.completedFuture(0L);
    }
    boolean allowed = circuit.allowed();
    if (fleet != null) {
      fleet.tick(allowed);
    }
    if (!allowed) {
      return CompletableFuture.completedFuture(decideLocally(localKey, permits));
    }
    if (lease != null && permits <= lease.size) {
      return lease.refillAndTakeAsync(permits, (need, want) -> askLeaseAsync(keys, need, want))
          .thenCompose(r -> r == Lease.BUSY
              ? afterRefill(lease, keys, localKey, permits)
              : CompletableFuture.completedFuture(settle(r, localKey, permits)));
    }
    return directAsync(keys, localKey, permits);
  }

  /** Another caller's refill is in flight: once it settles, the lease again, else Redis directly. */
  private CompletableFuture<Long> afterRefill(Lease lease, String[] keys, String localKey, int permits) {
    return lease.afterAsyncRefill().thenCompose(ignored -> {
      if (lease.tryTake(permits)) {
        granted.increment();
        return CompletableFuture.completedFuture(0L);
      }
      return directAsync(keys, localKey, permits);
    });
  }

  private CompletableFuture<Long> directAsync(String[] keys, String localKey, int permits) {
    return evalAsync(keys, args(permits, 0)).handle((reply, error) -> {
      long r;
      if (error != null) {
        r = failed(error);
      } else {
        r = decodeOrFail(reply, 0);
      }
      return settle(r, localKey, permits);
    });
  }

  /** A check that may wait up to {@code maxWait}, reserving in Redis and sleeping locally. */
  boolean tryAcquire(String[] keys, String localKey, int permits, Duration maxWait) throws InterruptedException {
    checkPermits(permits);
    Objects.requireNonNull(maxWait, "maxWait");
    Checks.nonNegative(maxWait, "maxWait");
    Lease lease = leaseFor(localKey);
    if (lease != null && lease.tryTake(permits)) {
      granted.increment();
      return true;
    }
    boolean allowed = circuit.allowed();
    if (fleet != null) {
      fleet.tick(allowed);
    }
    if (!allowed) {
      return decideLocally(localKey, permits, maxWait);
    }
    long maxWaitMicros = Math.min(Durations.toNanosSaturated(maxWait) / 1000, rate.maxReservationMicros);
    long r = ask(keys, permits, maxWaitMicros);
    if (r == UNAVAILABLE) {
      return decideLocally(localKey, permits, maxWait);
    }
    if (r == NOT_UNDERSTOOD) {
      reject(coolDownNanos, permits, "Redis reply not understood");
      return false;
    }
    if (r < 0) {
      reject(-r * 1000, permits, "rate limit exceeded");
      return false;
    }
    if (r > 0) {
      // The permits are reserved in Redis; if this sleep is interrupted they stay consumed.
      sleeper.sleep(Duration.ofNanos(r * 1000));
    }
    granted.increment();
    return true;
  }

  /** This key's lease (the global limiter's one lease), or null: no lease mode, or no room for the key. */
  private Lease leaseFor(String localKey) {
    return lease != null ? lease : leaseTable != null ? leaseTable.get(localKey) : null;
  }

  /**
   * Spends {@code permits} from the key's lease if it holds them, counting the grant: the keyed
   * limiter's fast path, before it builds the Redis key. False without lease mode.
   */
  boolean spendLease(String localKey, int permits) {
    checkPermits(permits);
    Lease lease = leaseFor(localKey);
    if (lease != null && lease.tryTake(permits)) {
      granted.increment();
      return true;
    }
    return false;
  }

  private long settle(long r, String localKey, int permits) {
    if (r >= 0) { // a check that does not wait is granted with r == 0
      granted.increment();
      return 0;
    }
    if (r == UNAVAILABLE) {
      return decideLocally(localKey, permits);
    }
    if (r == NOT_UNDERSTOOD) {
      return reject(coolDownNanos, permits, "Redis reply not understood");
    }
    return reject(-r * 1000, permits, "rate limit exceeded"); // -r <= 2^53 us: no overflow
  }

  /** Sees the Redis time (µs) and the decoded decision of each {@link #reserve} Redis answered; for tests. */
  interface Observer {
    void decided(long redisMicros, long decision);
  }

  /**
   * The slot admission's check (RedisSlotAdmission): one permit, reserved in Redis if it will be
   * there within {@code maxWaitMicros}. Returns as {@link #ask} does, or {@link #UNAVAILABLE} at
   * once while the circuit keeps Redis out; ticks the fleet like every check. {@code observer} may
   * be null.
   */
  long reserve(String[] keys, long maxWaitMicros, Observer observer) {
    boolean allowed = circuit.allowed();
    if (fleet != null) {
      fleet.tick(allowed);
    }
    long r;
    if (!allowed) {
      r = UNAVAILABLE;
    } else {
      Object reply;
      try {
        reply = evalSync(keys, args(1, maxWaitMicros));
        r = GcraScript.decode(reply, maxWaitMicros);
        if (observer != null) {
          observer.decided(GcraScript.redisMicros(reply), r);
        }
      } catch (Exception e) {
        r = failed(e);
      }
    }
    if (r == UNAVAILABLE) {
      fallbackDecisions.increment();
    } else if (r >= 0) {
      granted.increment();
    } else {
      rejected.increment();
    }
    return r;
  }

  /**
   * Asks Redis once (with the NOSCRIPT reload) and returns the decoded decision: the granted wait
   * in µs (zero or more), minus the retry-after in µs, {@link #UNAVAILABLE} or
   * {@link #NOT_UNDERSTOOD}. Errors are counted, reported and fed to the circuit here.
   */
  long ask(String[] keys, int permits, long maxWaitMicros) {
    Object reply;
    try {
      reply = evalSync(keys, args(permits, maxWaitMicros));
    } catch (Exception e) {
      return failed(e);
    }
    return decodeOrFail(reply, maxWaitMicros);
  }

  private long decodeOrFail(Object reply, long maxWaitMicros) {
    try {
      return GcraScript.decode(reply, maxWaitMicros);
    } catch (IllegalStateException e) {
      return failed(e);
    }
  }

  String[] args(int permits, long maxWaitMicros) {
    if (permits == 1 && maxWaitMicros == 0) {
      return oneNow;
    }
    return new String[] {intervalArg, scaleArg, tauArg, Integer.toString(permits), Long.toString(maxWaitMicros)};
  }

  // ---------------------------------------------------------------- Redis calls

  /** The GCRA script on {@code keys} within one timeout (EVALSHA; EVAL once on NOSCRIPT). */
  Object evalSync(String[] keys, String[] args) throws ExecutionException, TimeoutException {
    long deadline = System.nanoTime() + timeoutNanos;
    return await(target.run(GcraScript.SCRIPT, keys, args, deadline), deadline);
  }

  private CompletableFuture<List<Object>> evalAsync(String[] keys, String[] args) {
    return target.run(GcraScript.SCRIPT, keys, args, System.nanoTime() + timeoutNanos);
  }

  /** A lease of {@code need..want} permits: taken (> 0), minus the retry-after in µs, or an error code. */
  private long askLease(String[] keys, int need, int want) {
    Object reply;
    try {
      long deadline = System.nanoTime() + timeoutNanos;
      reply = await(target.run(LeaseScript.SCRIPT, keys, leaseArgs(need, want), deadline), deadline);
    } catch (Exception e) {
      return failed(e);
    }
    return decodeLeaseOrFail(reply, need, want);
  }

  private CompletableFuture<Long> askLeaseAsync(String[] keys, int need, int want) {
    return target.run(LeaseScript.SCRIPT, keys, leaseArgs(need, want), System.nanoTime() + timeoutNanos)
        .handle((reply, error) -> error != null ? failed(error) : decodeLeaseOrFail(reply, need, want));
  }

  private long decodeLeaseOrFail(Object reply, int need, int want) {
    try {
      return LeaseScript.decode(reply, need, want);
    } catch (IllegalStateException e) {
      return failed(e);
    }
  }

  private String[] leaseArgs(int need, int want) {
    return new String[] {intervalArg, scaleArg, tauArg, Integer.toString(need), Integer.toString(want)};
  }

  /** Waits for {@code f} until {@code deadline} (System.nanoTime), uninterruptibly; cancels it on timeout. */
  private static <T> T await(Future<T> f, long deadline) throws ExecutionException, TimeoutException {
    boolean interrupted = false;
    try {
      for (;;) {
        try {
          return f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          interrupted = true; // bounded by the deadline; the status is restored below
        } catch (TimeoutException e) {
          f.cancel(false);
          throw e;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  static boolean isNoScript(Throwable t) {
    return RedisTarget.isNoScript(t);
  }

  /** Whether {@code t} means Redis cannot serve now (as opposed to an answer we cannot read). */
  static boolean isUnavailable(Throwable t) {
    if (t instanceof IllegalStateException) {
      return false; // a reply of the wrong shape, see GcraScript.decode
    }
    if (t instanceof RedisCommandExecutionException) {
      String message = t.getMessage() == null ? "" : t.getMessage();
      for (String code : UNAVAILABLE_CODES) {
        if (message.startsWith(code)) {
          return true;
        }
      }
      return false; // WRONGTYPE, a malformed state, a script error, NOPERM...: not understood
    }
    return true; // timeouts, connection failures, cancellations
  }

  /** Counts, reports and classifies a failed check; opens the circuit if Redis is unavailable. */
  private long failed(Throwable error) {
    Throwable cause = Causes.unwrap(error);
    boolean unavailable = isUnavailable(cause);
    listener.onEvent(new Event(
        name, Event.Kind.FAILED, Duration.ZERO,
        unavailable ? "Redis unavailable" : "Redis reply not understood; refusing", cause));
    if (unavailable) {
      circuit.trip(cause);
    }
    // The circuit first, then the count (as in the probe): whoever sees the count also sees the
    // circuit this error opened, and its FALLBACK event.
    redisErrors.increment();
    return unavailable ? UNAVAILABLE : NOT_UNDERSTOOD;
  }

  // ---------------------------------------------------------------- circuit

  /** The circuit's probe: one SCRIPT LOAD within the timeout, good only if it answers our SHA. */
  private CompletableFuture<String> probe() {
    return target.load(GcraScript.SCRIPT, System.nanoTime() + timeoutNanos);
  }

  // ---------------------------------------------------------------- failure policy

  private long decideLocally(String localKey, int permits) {
    fallbackDecisions.increment();
    switch (policy) {
      case FAIL_OPEN:
        granted.increment();
        return 0;
      case FAIL_CLOSED:
        return reject(circuit.untilProbeNanos(), permits, "Redis unavailable (fail-closed)");
      default:
        if (permits > local.burst()) {
          return reject(circuit.untilProbeNanos(), permits,
              "Redis unavailable; more permits than the local share's burst");
        }
        long wait = local.acquireOrRetryAfterNanos(localKey, permits);
        if (wait == 0) {
          granted.increment();
          return 0;
        }
        return reject(wait, permits, "Redis unavailable; local share exceeded");
    }
  }

  private boolean decideLocally(String localKey, int permits, Duration maxWait) throws InterruptedException {
    fallbackDecisions.increment();
    switch (policy) {
      case FAIL_OPEN:
        granted.increment();
        return true;
      case FAIL_CLOSED:
        reject(circuit.untilProbeNanos(), permits, "Redis unavailable (fail-closed)");
        return false;
      default:
        if (permits > local.burst()) {
          reject(circuit.untilProbeNanos(), permits, "Redis unavailable; more permits than the local share's burst");
          return false;
        }
        if (local.tryAcquire(localKey, permits, maxWait)) {
          granted.increment();
          return true;
        }
        reject(0, permits, "Redis unavailable; local share exceeded");
        return false;
    }
  }

  private String fallbackDescription() {
    switch (policy) {
      case FAIL_OPEN:
        return "fail-open: granting every request";
      case FAIL_CLOSED:
        return "fail-closed: refusing every request";
      default:
        return "fail-local: deciding in-process at this server's share (" + local.describe() + ")";
    }
  }

  private long reject(long retryAfterNanos, int permits, String what) {
    rejected.increment();
    if (listener != EventListener.noop()) { // nobody to tell: build no event, allocate nothing
      listener.onEvent(rejection(Duration.ofNanos(retryAfterNanos), permits, what));
    }
    return retryAfterNanos;
  }

  private Event rejection(Duration delay, int permits, String what) {
    String detail = permits == 1 ? what : String.format(Locale.ROOT, "%s (%d permits)", what, permits);
    return Event.rejected(name, delay, permits, detail, null);
  }

  private void checkPermits(int permits) {
    Permits.check(permits, rate.burst, "the burst");
  }

  // ---------------------------------------------------------------- counters

  long grantedCount() {
    return granted.sum();
  }

  long rejectedCount() {
    return rejected.sum();
  }

  long redisErrorCount() {
    return redisErrors.sum();
  }

  long fallbackCount() {
    return fallbackDecisions.sum();
  }

  /** Script loads: good probes (SCRIPT LOAD) and scripts sent again with EVAL after NOSCRIPT. */
  long scriptLoadCount() {
    return scriptLoads.sum() + target.reloadCount();
  }

  /** The servers the fallback share is computed for now. */
  int fleetServers() {
    return fleet != null ? fleet.servers() : expectedServers;
  }

  /** This server's fallback share now. */
  Rate fallbackShare() {
    return local.rate();
  }

  /** Permits taken by lease and not yet spent (0 without lease mode). */
  long leasedPermits() {
    return lease != null ? lease.outstanding() : leaseTable != null ? leaseTable.outstanding() : 0;
  }

  /** The lease size, 0 without lease mode. */
  int leaseSize() {
    return lease != null ? lease.size : leaseTable != null ? leaseTable.size() : 0;
  }

  /** Keys holding a lease now: 1 for the global limiter in lease mode, 0 without lease mode. */
  int leasedKeys() {
    return lease != null ? 1 : leaseTable != null ? leaseTable.keys() : 0;
  }

  /** What the limiter runs on: standalone, master-replica or cluster. */
  RedisTarget target() {
    return target;
  }

  boolean fallbackActive() {
    return circuit.isOpen();
  }

  Duration timeInFallback() {
    return Duration.ofNanos(circuit.timeOpenNanos());
  }

  String describe() {
    return "'" + name + "', " + rate + ", " + policy
        + (policy == FailurePolicy.FAIL_LOCAL ? " (" + local.describe() + ")" : "")
        + ", timeout " + Duration.ofNanos(timeoutNanos) + ", " + target
        + (leaseSize() > 0 ? ", leases of " + leaseSize() : "")
        + (fleet != null ? ", shared by " + fleet.servers() + " servers" : "")
        + (fallbackActive() ? ", on the fallback" : "");
  }
}
