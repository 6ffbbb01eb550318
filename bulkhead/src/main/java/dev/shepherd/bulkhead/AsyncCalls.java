package dev.shepherd.bulkhead;

import dev.shepherd.core.internal.Causes;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Predicate;
import java.util.function.Supplier;

/** Runs an asynchronous action under a permit, releasing it however the stage ends. Stateless. */
final class AsyncCalls {

  private AsyncCalls() {}

  /**
   * Starts {@code action} holding {@code permit} and returns a stage that completes as the action's
   * stage does. The permit is released exactly once, by the first of: the action throwing or
   * returning null, the action's stage completing (normally, exceptionally or by cancellation), or
   * the returned stage being completed or cancelled by the caller (which also cancels the action's
   * stage when it is a cancellation). The release happens before the returned stage completes, so
   * the caller's dependent stages already see the permit back.
   *
   * @param isDrop classifies failures for an adaptive limit; null for a fixed bulkhead
   */
  static <T> CompletionStage<T> run(Permit permit, Supplier<? extends CompletionStage<T>> action,
      Predicate<? super Throwable> isDrop) {
    CompletionStage<T> stage;
    try {
      stage = action.get();
      if (stage == null) {
        throw new NullPointerException("action returned a null stage");
      }
    } catch (Throwable t) {
      permit.finish(classify(t, isDrop));
      return CompletableFuture.failedFuture(t);
    }
    CompletableFuture<T> result = new CompletableFuture<>();
    stage.whenComplete((value, failure) -> {
      permit.finish(failure == null ? Permit.SUCCESS : classify(failure, isDrop));
      if (failure == null) {
        result.complete(value);
      } else {
        result.completeExceptionally(failure);
      }
    });
    result.whenComplete((value, failure) -> {
      if (failure == null) {
        permit.finish(Permit.SUCCESS);
      } else if (result.isCancelled()) {
        permit.finish(Permit.FAILED); // a cancellation is no capacity signal, unless it came too late
        cancelQuietly(stage);
      } else {
        permit.finish(classify(failure, isDrop));
      }
    });
    return result;
  }

  /** Maps a failure to a {@link Permit} outcome: a drop if {@code isDrop} says so, else a failure. */
  static int classify(Throwable failure, Predicate<? super Throwable> isDrop) {
    if (isDrop == null) {
      return Permit.FAILED;
    }
    return isDrop.test(Causes.unwrap(failure)) ? Permit.DROPPED : Permit.FAILED;
  }

  private static void cancelQuietly(CompletionStage<?> stage) {
    try {
      stage.toCompletableFuture().cancel(false);
    } catch (UnsupportedOperationException cannotCancel) {
      // A stage that cannot be turned into a future cannot be cancelled either; the permit is
      // already released, which is what the caller asked for by cancelling.
    }
  }
}
