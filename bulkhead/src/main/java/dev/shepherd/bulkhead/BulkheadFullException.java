package dev.shepherd.bulkhead;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.RejectedException;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * Thrown (or used to fail a stage) when a {@link Bulkhead} or an {@link AdaptiveBulkhead} refuses a
 * call because its limit of concurrent calls is reached.
 *
 * <p>The message names the bulkhead and the limit in force when it refused, for example
 * {@code "bulkhead 'inventory' is full: limit of 10 concurrent calls reached, waited PT0.1S"}. A full bulkhead
 * cannot know when a call will finish, so {@link #retryAfter()} is empty. Like every
 * {@link RejectedException} it carries no stack trace. Immutable.
 */
public final class BulkheadFullException extends RejectedException {

  private static final long serialVersionUID = 1L;

  /** The limit in force when the call was refused. */
  private final int limit;
  /** How long the refused caller waited; kept as given, since it may exceed what nanoseconds hold. */
  private final Duration waited;

  /**
   * Creates a rejection.
   *
   * @param bulkheadName the name of the refusing bulkhead
   * @param limit the concurrency limit in force when it refused
   * @param waited how long the caller waited for a permit before giving up; zero for fail-fast
   * @throws NullPointerException if {@code bulkheadName} or {@code waited} is null
   * @throws IllegalArgumentException if {@code waited} is negative
   */
  public BulkheadFullException(String bulkheadName, int limit, Duration waited) {
    super(bulkheadName, message(bulkheadName, limit, waited), null);
    this.limit = limit;
    this.waited = waited;
  }

  private static String message(String name, int limit, Duration waited) {
    Objects.requireNonNull(name, "bulkheadName");
    if (Objects.requireNonNull(waited, "waited").isNegative()) {
      throw Checks.invalid("waited", "zero or positive", waited);
    }
    String base = String.format(Locale.ROOT,
        "bulkhead '%s' is full: limit of %d concurrent calls reached", name, limit);
    return waited.isZero() ? base : base + ", waited " + waited;
  }

  /**
   * Returns the concurrency limit that was reached.
   *
   * @return the limit in force when the call was refused
   */
  public int limit() {
    return limit;
  }

  /**
   * Returns how long the refused caller waited for a permit.
   *
   * @return the wait; {@link Duration#ZERO} when the bulkhead failed fast
   */
  public Duration waited() {
    return waited;
  }
}
