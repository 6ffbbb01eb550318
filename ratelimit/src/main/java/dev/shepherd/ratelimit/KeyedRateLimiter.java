package dev.shepherd.ratelimit;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * One rate limit per key (per device id, per IP address, per tenant): each key is limited as if
 * it had a {@link RateLimiter} of its own.
 *
 * <p>Implemented in process by {@link KeyedTokenBucket} (per server) and, in
 * {@code ratelimit-redis}, by {@code RedisKeyedRateLimiter} (fleet-wide). Code written against this
 * interface moves from a per-server limit to a fleet-wide one by changing the builder, not the
 * call sites:
 *
 * <pre>{@code
 * KeyedRateLimiter<String> perDevice = KeyedTokenBucket.builder()
 *     .rate(6, Duration.ofMinutes(1)).burst(3).build();
 * // later, the same limit for the whole fleet:
 * // KeyedRateLimiter<String> perDevice = RedisKeyedRateLimiter.builder()
 * //     .connection(redis).rate(6, Duration.ofMinutes(1)).burst(3).build();
 * if (!perDevice.tryAcquire(deviceId)) { ... }   // 429
 * }</pre>
 *
 * <p>The methods mean what the same methods of {@link RateLimiter} mean, for one key:
 * {@link #acquireOrRetryAfterNanos(Object, int)} grants or says how long until the same request
 * would be granted, {@link #tryAcquire(Object, int, Duration)} waits only for permits certain to
 * come within {@code maxWait}, and {@link #call(Object, Callable)} refuses with a
 * {@link RateLimitExceededException} carrying the retry-after. What an implementation adds (a
 * bound on keys, a failure policy) is stated by it. Rejection events never contain keys.
 * Implementations are thread-safe.
 *
 * @param <K> the key type; keys must have consistent {@code equals} and {@code hashCode}
 */
public interface KeyedRateLimiter<K> {

  /**
   * Returns this limiter's name, used in rejections and events.
   *
   * @return the name
   */
  String name();

  /**
   * Takes one permit for {@code key} if it is available now.
   *
   * @param key the key
   * @return whether the permit was granted
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if the implementation refuses the key (see there)
   */
  default boolean tryAcquire(K key) {
    return acquireOrRetryAfterNanos(key, 1) == 0;
  }

  /**
   * Takes {@code permits} permits for {@code key} if they are all available now; takes none
   * otherwise.
   *
   * @param key the key
   * @param permits how many, between 1 and {@link #burst()}
   * @return whether the permits were granted
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if {@code permits} is out of range, or the implementation
   *     refuses the key
   */
  default boolean tryAcquire(K key, int permits) {
    return acquireOrRetryAfterNanos(key, permits) == 0;
  }

  /**
   * Takes {@code permits} permits for {@code key} if they are all available now, or says how long
   * until they would be; see {@link RateLimiter#acquireOrRetryAfterNanos(int)}.
   *
   * @param key the key
   * @param permits how many, between 1 and {@link #burst()}
   * @return {@code 0} if granted, otherwise the nanoseconds (positive) until the same request
   *     would be granted
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if {@code permits} is out of range, or the implementation
   *     refuses the key
   */
  long acquireOrRetryAfterNanos(K key, int permits);

  /**
   * Takes {@code permits} permits for {@code key}, waiting only if they are certain to be available
   * within {@code maxWait}; see {@link RateLimiter#tryAcquire(int, Duration)}.
   *
   * @param key the key
   * @param permits how many, between 1 and {@link #burst()}
   * @param maxWait the longest acceptable wait, zero or more
   * @return whether the permits were granted (after any wait)
   * @throws InterruptedException if interrupted while waiting
   * @throws NullPointerException if {@code key} or {@code maxWait} is null
   * @throws IllegalArgumentException if {@code permits} is out of range, {@code maxWait} is
   *     negative, or the implementation refuses the key
   */
  boolean tryAcquire(K key, int permits, Duration maxWait) throws InterruptedException;

  /**
   * Takes one permit for {@code key} and runs {@code action}, or throws without running it.
   *
   * @param key the key
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws RateLimitExceededException if the key has no permit now; carries the retry-after
   * @throws NullPointerException if {@code key} or {@code action} is null
   * @throws Exception whatever {@code action} threw
   */
  default <T> T call(K key, Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    long wait = acquireOrRetryAfterNanos(key, 1);
    if (wait != 0) {
      throw new RateLimitExceededException(name(), wait);
    }
    return action.call();
  }

  /**
   * Takes one permit for {@code key} and starts {@code action}, or returns a stage completed
   * exceptionally with a {@link RateLimitExceededException}.
   *
   * @param key the key
   * @param action starts the guarded work and returns the stage it will complete
   * @param <T> the result type
   * @return the stage {@code action} returned, or a failed stage (also when {@code action} throws)
   * @throws NullPointerException if {@code key} or {@code action} is null
   */
  default <T> CompletionStage<T> callAsync(K key, Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(action, "action");
    long wait = acquireOrRetryAfterNanos(key, 1);
    if (wait != 0) {
      return CompletableFuture.failedFuture(new RateLimitExceededException(name(), wait));
    }
    try {
      return Objects.requireNonNull(action.get(), "action returned null");
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Returns a {@link RateLimiter} (and so a {@link dev.shepherd.core.Policy}) limiting one key, for
   * composition with other policies. Its name and counters are this limiter's.
   *
   * @param key the key
   * @return a view of this limiter for {@code key}
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if the implementation refuses the key
   */
  RateLimiter forKey(K key);

  /**
   * Returns each key's capacity: the most permits granted to one key at once.
   *
   * @return the burst
   */
  int burst();

  /**
   * Returns how many requests were granted, over all keys.
   *
   * @return the count of granted requests
   */
  long grantedCount();

  /**
   * Returns how many requests were refused, over all keys.
   *
   * @return the count of refused requests
   */
  long rejectedCount();
}
