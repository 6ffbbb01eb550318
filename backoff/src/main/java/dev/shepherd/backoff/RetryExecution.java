package dev.shepherd.backoff;

import dev.shepherd.core.Deadline;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.Event;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.random.RandomGenerator;

/**
 * The decisions of one {@link Retry} call: after each attempt, whether to try again and after how
 * long. Shared by the synchronous and asynchronous paths so both follow the same rules.
 *
 * <p>Not thread-safe. The asynchronous path uses it from one thread at a time, handing it over
 * through the scheduler and the attempt's stage, both of which order memory (happens-before).
 */
final class RetryExecution {

  /** What {@link #afterFailure} and {@link #afterResult} return to say "stop". */
  static final long STOP = -1;

  private final Retry retry;
  private final long startNanos;
  /** The caller's deadline, or null. */
  private final Deadline deadline;
  /** With a deadline: the time it had left when the latest attempt started. */
  private long remainingAtAttemptStart;
  private int attempts;
  private RandomGenerator random;
  private Backoff.Schedule schedule;
  private Throwable lastFailure;
  private List<Throwable> earlier;

  RetryExecution(Retry retry) {
    this(retry, null);
  }

  RetryExecution(Retry retry, Deadline deadline) {
    this.retry = retry;
    this.deadline = deadline;
    this.startNanos = retry.maxElapsedNanos >= 0 ? retry.ticker.read() : 0L;
    if (retry.budget != null) {
      retry.budget.recordRequest();
    }
  }

  void attemptStarted() {
    attempts++;
    if (deadline != null) {
      remainingAtAttemptStart = deadline.remainingNanos();
    }
  }

  /**
   * Returns the rejection for a call whose deadline passed before its first attempt, after
   * reporting it; the attempt is not made.
   */
  static DeadlineExceededException expiredBeforeFirstAttempt(Retry retry, Deadline deadline) {
    String detail = "deadline passed before the first attempt: " + deadline;
    retry.listener.onEvent(Event.gaveUp(retry.name, 0, detail, null));
    return new DeadlineExceededException(retry.name, "retry '" + retry.name + "': " + detail);
  }

  String name() {
    return retry.name;
  }

  int attempts() {
    return attempts;
  }

  Throwable lastFailure() {
    return lastFailure;
  }

  /**
   * Decides what follows a failed attempt.
   *
   * @param failure what the attempt threw (unwrapped)
   * @return the wait in nanoseconds before the next attempt, or {@link #STOP}
   */
  long afterFailure(Throwable failure) {
    remember(failure);
    if (failure instanceof InterruptedException) {
      emitInterrupted(failure);
      return STOP;
    }
    if (failure instanceof Error) {
      return STOP;
    }
    if (retry.abortOn.test(failure)) {
      emit(Event.Kind.GAVE_UP, 0, "attempt " + attempts + " failed with an abort condition", failure);
      return STOP;
    }
    if (!retry.retryOn.test(failure)) {
      if (attempts > 1) {
        emit(Event.Kind.FAILED, 0, "attempt " + attempts + " failed with a non-retryable failure", failure);
      }
      return STOP;
    }
    long slot = retry.hints.slotNanos(failure);
    return slot >= 0 ? planRetry(slot, true, failure) : planRetry(retry.hints.hintNanos(failure), false, failure);
  }

  /**
   * Decides what follows an attempt that returned.
   *
   * @param result what the attempt returned
   * @return the wait in nanoseconds before the next attempt, or {@link #STOP} to return the result
   */
  long afterResult(Object result) {
    if (!retry.retryOnResult.test(result)) {
      if (attempts > 1) {
        emit(Event.Kind.SUCCEEDED, 0, "succeeded on attempt " + attempts, null);
      }
      return STOP;
    }
    if (retry.abortOnResult.test(result)) {
      emit(Event.Kind.GAVE_UP, 0, "attempt " + attempts + " returned a result with an abort condition", null);
      return STOP;
    }
    return planRetry(-1, false, null);
  }

  /** Records a failed attempt seen while the thread was interrupted: the call stops with it. */
  void stopInterrupted(Throwable failure) {
    remember(failure);
    emitInterrupted(failure);
  }

  /** Records an interrupt of the wait between attempts: the call stops. */
  void interruptedWhileWaiting(InterruptedException interrupt) {
    emitInterrupted(interrupt);
  }

  private void emitInterrupted(Throwable cause) {
    emit(Event.Kind.GAVE_UP, 0, "interrupted after attempt " + attempts, cause);
  }

  private long planRetry(long hintNanos, boolean slot, Throwable cause) {
    if (attempts >= retry.maxAttempts) {
      emit(Event.Kind.GAVE_UP, 0, "all " + retry.maxAttempts + " attempts used", cause);
      return STOP;
    }
    if (random == null) {
      random = retry.newCallRandom();
    }
    long wait;
    if (slot) {
      wait = retry.hints.slotWaitNanos(hintNanos, random); // a personal slot: kept, no backoff growth
    } else {
      if (schedule == null) {
        schedule = retry.backoff.start(random);
      }
      wait = Math.max(0L, schedule.nextDelayNanos());
      if (hintNanos >= 0) {
        wait = Math.max(wait, retry.hints.waitNanos(hintNanos, random));
      }
    }
    if (retry.maxElapsedNanos >= 0) {
      long remaining = retry.maxElapsedNanos - (retry.ticker.read() - startNanos);
      if (remaining <= 0) {
        // at or past the deadline: the next attempt would start after it (or loop at its instant)
        emit(Event.Kind.GAVE_UP, 0, "deadline of " + Duration.ofNanos(retry.maxElapsedNanos) + " reached", cause);
        return STOP;
      }
      if (hintNanos > remaining) {
        emit(Event.Kind.GAVE_UP, 0, String.format(Locale.ROOT,
            "retry-after hint %s ends past the deadline", Duration.ofNanos(hintNanos)), cause);
        return STOP;
      }
      wait = Math.min(wait, remaining);
    }
    if (deadline != null && !fitsBeforeDeadline(wait, cause)) {
      return STOP;
    }
    if (retry.budget != null && !retry.budget.tryWithdraw()) {
      emit(Event.Kind.GAVE_UP, 0, "retry budget '" + retry.budget.name() + "' exhausted", cause);
      return STOP;
    }
    emit(Event.Kind.RETRY, wait, "attempt " + attempts + " of " + retry.maxAttempts + " failed; retrying", cause);
    return wait;
  }

  /**
   * Whether the wait and then an attempt as long as the latest one end before the caller's
   * deadline; if not, reports giving up. The latest attempt's length is the estimate because it is
   * the best evidence of what the next one will take (a timeout takes as long again).
   */
  private boolean fitsBeforeDeadline(long wait, Throwable cause) {
    long remaining = deadline.remainingNanos();
    long lastAttempt = Math.max(0L, Durations.saturatedAdd(remainingAtAttemptStart, -remaining));
    long needed = Durations.saturatedAdd(wait, lastAttempt);
    if (remaining > 0 && needed < remaining) {
      return true;
    }
    emit(Event.Kind.GAVE_UP, 0, String.format(Locale.ROOT,
        "the next attempt cannot finish before the deadline: %s left, wait %s + last attempt %s",
        Duration.ofNanos(Math.max(0L, remaining)), Duration.ofNanos(wait), Duration.ofNanos(lastAttempt)), cause);
    return false;
  }

  private void remember(Throwable failure) {
    Throwable previous = lastFailure;
    lastFailure = failure;
    if (previous == null || previous == failure) {
      return;
    }
    if (earlier == null) {
      earlier = new ArrayList<>(4);
    }
    if (earlier.size() < Retry.MAX_SUPPRESSED && !containsIdentical(earlier, previous)) {
      earlier.add(previous);
    }
  }

  private static boolean containsIdentical(List<Throwable> list, Throwable t) {
    for (Throwable e : list) {
      if (e == t) {
        return true;
      }
    }
    return false;
  }

  /**
   * Attaches up to {@link Retry#MAX_SUPPRESSED} earlier failures to {@code last}, oldest first, and
   * returns it. The bound also holds across calls when the same exception instance is thrown again.
   *
   * @param last the failure to report
   * @param <X> its type
   * @return {@code last}
   */
  <X extends Throwable> X finalFailure(X last) {
    if (earlier != null) {
      for (Throwable e : earlier) {
        if (e != last && last.getSuppressed().length < Retry.MAX_SUPPRESSED) {
          last.addSuppressed(e);
        }
      }
      earlier = null;
    }
    return last;
  }

  private void emit(Event.Kind kind, long delayNanos, String detail, Throwable cause) {
    retry.listener.onEvent(
        new Event(retry.name, kind, Duration.ofNanos(delayNanos), detail, cause, attempts, 0, 0L, 0L, null, null));
  }
}
