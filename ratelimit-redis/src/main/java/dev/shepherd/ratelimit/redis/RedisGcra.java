package dev.shepherd.ratelimit.redis;

import dev.shepherd.core.internal.Causes;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import dev.shepherd.core.internal.Permits;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
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
 * or failover (the script cache is empty: NOSCRIPT) does a check take three: SCRIPT LOAD, then the
 * EVALSHA again, once. The whole sequence shares one deadline, the configured timeout, measured on
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

    String describe();
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
  private final RedisAsyncCommands<String, String> redis;
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
    this.redis = config.connection.async();
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
    // Best effort, so the first check usually finds the script cached; failures are harmless.
    try {
      timed(redis.scriptLoad(GcraScript.SOURCE), System.nanoTime() + timeoutNanos).exceptionally(e -> null);
    } catch (RuntimeException e) {
      // The connection is unusable now; the first check will find out and open the circuit.
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
    if (!circuit.allowed()) {
      return decideLocally(localKey, permits);
    }
    return settle(ask(keys, permits, 0), localKey, permits);
  }

  /** The asynchronous {@link #acquire}; the stage never completes exceptionally. */
  CompletableFuture<Long> acquireAsync(String[] keys, String localKey, int permits) {
    checkPermits(permits);
    if (!circuit.allowed()) {
      return CompletableFuture.completedFuture(decideLocally(localKey, permits));
    }
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
    if (!circuit.allowed()) {
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

  /** EVALSHA, and on NOSCRIPT one SCRIPT LOAD and one more EVALSHA, all within one timeout. */
  Object evalSync(String[] keys, String[] args) throws ExecutionException, TimeoutException {
    long deadline = System.nanoTime() + timeoutNanos;
    try {
      return await(redis.<List<Object>>evalsha(GcraScript.SHA, ScriptOutputType.MULTI, keys, args), deadline);
    } catch (ExecutionException e) {
      if (!isNoScript(e.getCause())) {
        throw e;
      }
    }
    loaded(await(redis.scriptLoad(GcraScript.SOURCE), deadline));
    return await(redis.<List<Object>>evalsha(GcraScript.SHA, ScriptOutputType.MULTI, keys, args), deadline);
  }

  private CompletableFuture<List<Object>> evalAsync(String[] keys, String[] args) {
    long deadline = System.nanoTime() + timeoutNanos;
    CompletableFuture<List<Object>> first;
    try {
      first = timed(redis.<List<Object>>evalsha(GcraScript.SHA, ScriptOutputType.MULTI, keys, args), deadline);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return first
        .handle((reply, error) -> {
          if (error == null) {
            return CompletableFuture.completedFuture(reply);
          }
          if (!isNoScript(Causes.unwrap(error))) {
            return CompletableFuture.<List<Object>>failedFuture(error);
          }
          return timed(redis.scriptLoad(GcraScript.SOURCE), deadline).thenCompose(sha -> {
            loaded(sha);
            return timed(redis.<List<Object>>evalsha(GcraScript.SHA, ScriptOutputType.MULTI, keys, args), deadline);
          });
        })
        .thenCompose(stage -> stage);
  }

  private void loaded(String sha) {
    scriptLoads.increment();
    if (!GcraScript.SHA.equals(sha)) {
      throw new IllegalStateException("SCRIPT LOAD answered " + sha + ", expected " + GcraScript.SHA);
    }
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

  /** Completes {@code f} exceptionally at {@code deadline}; Lettuce then does not write it if unsent. */
  private static <T> CompletableFuture<T> timed(RedisFuture<T> f, long deadline) {
    CompletableFuture<T> cf = f.toCompletableFuture();
    return cf.orTimeout(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
  }

  static boolean isNoScript(Throwable t) {
    return t instanceof RedisNoScriptException
        || (t instanceof RedisCommandExecutionException && t.getMessage() != null
            && t.getMessage().startsWith("NOSCRIPT"));
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
    return timed(redis.scriptLoad(GcraScript.SOURCE), System.nanoTime() + timeoutNanos).thenApply(sha -> {
      if (!GcraScript.SHA.equals(sha)) {
        throw new IllegalStateException("SCRIPT LOAD answered " + sha + ", expected " + GcraScript.SHA);
      }
      return sha;
    });
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

  long scriptLoadCount() {
    return scriptLoads.sum();
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
        + ", timeout " + Duration.ofNanos(timeoutNanos)
        + (fallbackActive() ? ", on the fallback" : "");
  }
}
