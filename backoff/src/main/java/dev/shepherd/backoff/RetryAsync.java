package dev.shepherd.backoff;

import dev.shepherd.core.internal.Causes;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One asynchronous {@link Retry} call: attempts chained through their stages, waits scheduled on a
 * {@link ScheduledExecutorService}, so no thread blocks between attempts.
 *
 * <p>Design note. The {@link RetryExecution} is touched by one thread at a time: the caller for the
 * first attempt, then whichever thread completes an attempt's stage, then the scheduler thread that
 * starts the next attempt; completion and scheduling both establish happens-before, so it needs no
 * lock. Cancellation races with scheduling and is resolved Dekker-style on two volatile fields: the
 * scheduling thread writes {@link #pending} and then reads {@code result.isDone()}; the cancelling
 * thread completes {@code result} and then reads {@link #pending}. Whichever runs second sees the
 * other's write and cancels the task, so a cancelled call never starts another attempt (and
 * {@link #attempt()} re-checks {@code isDone()} first anyway).
 */
final class RetryAsync<T> {

  private final CompletableFuture<T> result = new CompletableFuture<>();
  private final RetryExecution execution;
  private final Supplier<? extends CompletionStage<T>> action;
  private final ScheduledExecutorService scheduler;
  private volatile Future<?> pending;
  private volatile Future<?> inflight;

  RetryAsync(
      RetryExecution execution,
      Supplier<? extends CompletionStage<T>> action,
      ScheduledExecutorService scheduler) {
    this.execution = execution;
    this.action = action;
    this.scheduler = scheduler;
    result.whenComplete((value, failure) -> {
      if (result.isCancelled()) {
        cancelWork();
      }
    });
  }

  CompletableFuture<T> result() {
    return result;
  }

  void attempt() {
    if (result.isDone()) {
      return;
    }
    pending = null;
    execution.attemptStarted();
    CompletionStage<T> stage;
    try {
      stage = Objects.requireNonNull(action.get(), "action returned a null stage");
    } catch (Throwable t) {
      onFailure(t);
      return;
    }
    if (stage instanceof Future) {
      Future<?> future = (Future<?>) stage;
      inflight = future;
      if (result.isCancelled()) {
        future.cancel(true);
      }
    }
    stage.whenComplete(this::onOutcome);
  }

  private void onOutcome(T value, Throwable failure) {
    inflight = null;
    if (result.isDone()) {
      return;
    }
    if (failure != null) {
      onFailure(Causes.unwrap(failure));
      return;
    }
    long wait = execution.afterResult(value);
    if (wait < 0) {
      result.complete(value);
    } else {
      schedule(wait);
    }
  }

  private void onFailure(Throwable failure) {
    long wait = execution.afterFailure(failure);
    if (wait < 0) {
      result.completeExceptionally(execution.finalFailure(failure));
    } else {
      schedule(wait);
    }
  }

  private void schedule(long waitNanos) {
    try {
      pending = scheduler.schedule(this::attempt, waitNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      Throwable last = execution.lastFailure();
      result.completeExceptionally(new RejectedExecutionException(
          "retry '" + execution.name() + "' could not schedule attempt " + (execution.attempts() + 1),
          last == null ? e : execution.finalFailure(last)));
      return;
    }
    if (result.isDone()) {
      cancelWork();
    }
  }

  private void cancelWork() {
    Future<?> p = pending;
    if (p != null) {
      p.cancel(false);
    }
    Future<?> f = inflight;
    if (f != null) {
      f.cancel(true);
    }
  }
}
