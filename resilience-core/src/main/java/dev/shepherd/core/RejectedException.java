package dev.shepherd.core;

import dev.shepherd.core.internal.Durations;

import dev.shepherd.core.internal.Checks;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Thrown when a policy refuses a call; names the policy instance and, when it knows, how long until
 * the call would be accepted.
 *
 * <p>Every module's rejection extends this class (a rate limiter's, a bulkhead's, a retry budget's),
 * so one {@code catch (RejectedException e)} handles them all, and {@link #retryAfter()} travels to
 * clients, for example as an HTTP {@code Retry-After} header. Clients should honour the hint
 * <em>with jitter added above it</em>, so a fleet told "come back in 30 s" does not return at once.
 *
 * <p>A hint is either <em>shared</em> (the default: every refused caller may be told the same time,
 * so each adds jitter in proportion to it) or a <em>personal slot</em> ({@link #isPersonalSlot()}):
 * a time the refusing policy reserved for this caller alone, spread from other callers' slots at
 * the rate it will admit. A client keeps a personal slot, adding only a small fixed jitter, and
 * does not grow its backoff for it.
 *
 * <p>Rejections are expected control flow under load (a storm may produce thousands a second), so
 * they do not capture a stack trace; the message names the instance, which is what locates them.
 * Instances are immutable.
 */
public class RejectedException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** The name of the policy instance that refused. */
  private final String policyName;
  /** Nanoseconds until the call would be accepted, or -1 when unknown. */
  private final long retryAfterNanos;
  /** Whether {@link #retryAfterNanos} is a slot reserved for this caller alone. */
  private final boolean personalSlot;

  /**
   * Creates a rejection.
   *
   * @param policyName the name of the refusing policy instance
   * @param message the detail message; should name the instance and the limit that was hit
   * @param retryAfter how long until the call would be accepted, or {@code null} when unknown
   * @throws NullPointerException if {@code policyName} or {@code message} is null
   * @throws IllegalArgumentException if {@code retryAfter} is negative
   */
  public RejectedException(String policyName, String message, Duration retryAfter) {
    this(policyName, message, retryAfter, null);
  }

  /**
   * Creates a rejection caused by a failure, for a policy that refuses because something it relies
   * on failed (a backend that is down, a shared limiter that cannot be reached).
   *
   * @param policyName the name of the refusing policy instance
   * @param message the detail message; should name the instance and what failed
   * @param retryAfter how long until the call would be accepted, or {@code null} when unknown
   * @param cause the failure behind the refusal, or {@code null}
   * @throws NullPointerException if {@code policyName} or {@code message} is null
   * @throws IllegalArgumentException if {@code retryAfter} is negative
   */
  public RejectedException(String policyName, String message, Duration retryAfter, Throwable cause) {
    super(Objects.requireNonNull(message, "message"), cause, false, false);
    this.policyName = Objects.requireNonNull(policyName, "policyName");
    this.retryAfterNanos =
        retryAfter == null ? -1 : Durations.toNanosSaturated(Checks.nonNegative(retryAfter, "retryAfter"));
    this.personalSlot = false;
  }

  /**
   * Creates a rejection whose retry-after hint is given in nanoseconds.
   *
   * @param policyName the name of the refusing policy instance
   * @param message the detail message; should name the instance and the limit that was hit
   * @param retryAfterNanos nanoseconds until the call would be accepted, zero or more
   * @throws NullPointerException if {@code policyName} or {@code message} is null
   * @throws IllegalArgumentException if {@code retryAfterNanos} is negative
   */
  public RejectedException(String policyName, String message, long retryAfterNanos) {
    this(policyName, message, retryAfterNanos, false);
  }

  /**
   * Creates a rejection whose retry-after hint, in nanoseconds, is either shared or a slot reserved
   * for this caller alone.
   *
   * @param policyName the name of the refusing policy instance
   * @param message the detail message; should name the instance and the limit that was hit
   * @param retryAfterNanos nanoseconds until the call would be accepted, zero or more
   * @param personalSlot {@code true} if the policy reserved that time for this caller alone (see
   *     {@link #isPersonalSlot()}), {@code false} for a hint other callers may share
   * @throws NullPointerException if {@code policyName} or {@code message} is null
   * @throws IllegalArgumentException if {@code retryAfterNanos} is negative
   */
  public RejectedException(String policyName, String message, long retryAfterNanos, boolean personalSlot) {
    super(Objects.requireNonNull(message, "message"), null, false, false);
    this.policyName = Objects.requireNonNull(policyName, "policyName");
    this.retryAfterNanos = Checks.nonNegative(retryAfterNanos, "retryAfterNanos");
    this.personalSlot = personalSlot;
  }

  /**
   * Returns the name of the policy instance that refused the call.
   *
   * @return the policy's name
   */
  public String policyName() {
    return policyName;
  }

  /**
   * Returns how long until the same call would be accepted, if the policy knows.
   *
   * @return the wait, or empty when the policy cannot tell (a full bulkhead, for example)
   */
  public Optional<Duration> retryAfter() {
    return retryAfterNanos < 0 ? Optional.empty() : Optional.of(Duration.ofNanos(retryAfterNanos));
  }

  /**
   * Returns the retry-after hint in nanoseconds, without allocating.
   *
   * @return nanoseconds until the call would be accepted, or {@code -1} when unknown
   */
  public long retryAfterNanos() {
    return retryAfterNanos;
  }

  /**
   * Returns whether the retry-after is a personal slot: a time the refusing policy reserved for
   * this caller alone, rather than a hint it may give every refused caller. A client should come
   * back at a personal slot with only a small fixed jitter (spreading it further would undo the
   * spacing the policy chose), and should not grow its backoff for the refusal.
   *
   * @return {@code true} for a personal slot, {@code false} for a shared hint or none
   */
  public boolean isPersonalSlot() {
    return personalSlot;
  }
}
