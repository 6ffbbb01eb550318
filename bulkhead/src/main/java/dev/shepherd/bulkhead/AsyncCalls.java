package dev.shepherd.bulkhead;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.function.Predicate;
import java.util.function.Supplier;

/** Runs an asynchronous action under a permit, releasing it however the stage ends. Stateless. */
final class AsyncCalls {

  /** How deep {@link #unwrap} and the default drop classifier follow a cause chain. */
  static final int MAX_CAUSE_DEPTH = 16;

  private AsyncCalls() {}

  /**
   * Starts {@code action} holding {@code permit} and returns a stage that completes as the action's
   * stage does. The permit is released exactly once, by the first of: the action throwing or
   * returning null, the action's stage completing (normally, exceptionally or by cancellation), the
   * action's stage refusing the completion callback, or the returned stage being completed or
   * cancelled by anyone (a cancellation is passed on to the action's stage). In every case the
   * release happens before the returned stage completes; see {@link ReleasingFuture}.
   *
   * @param isDrop classifies failures for an adaptive limit; null for a fixed bulkhead
   */
  static <T> CompletionStage<T> run(Permit permit, Supplier<? extends CompletionStage<T>> action,
      Predicate<? super Throwable> isDrop) {
    PermitFuture<T> result = new PermitFuture<>(permit, isDrop);
    result.start(action);
    return result;
  }

  /** Maps a failure to a {@link Permit} outcome: a drop if {@code isDrop} says so, else a failure. */
  static int classify(Throwable failure, Predicate<? super Throwable> isDrop) {
    if (isDrop == null) {
      return Permit.FAILED;
    }
    return isDrop.test(unwrap(failure)) ? Permit.DROPPED : Permit.FAILED;
  }

  /** Strips the wrappers that CompletableFuture and Future put around the real failure. */
  static Throwable unwrap(Throwable failure) {
    Throwable t = failure;
    for (int i = 0; i < MAX_CAUSE_DEPTH
        && (t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null; i++) {
      t = t.getCause();
    }
    return t;
  }

  /*
   * Why a subclass. A CompletableFuture runs its dependents in the thread that completes it, most
   * recently registered first. A release registered as a dependent of the returned stage (as this
   * class once did) therefore ran after every dependent the caller added later: a caller that
   * cancelled the stage, or ended it with orTimeout, and retried from a dependent found the permit
   * still taken. Overriding every public way to complete the future puts the release before the
   * completion itself, so no dependent can run first, whoever completes the stage and however.
   *
   * Covered: complete, completeExceptionally (also reached by orTimeout), cancel, completeAsync,
   * obtrudeValue, obtrudeException, completeOnTimeout (reaches complete). Dependents are plain
   * CompletableFutures (newIncompleteFuture), so only this stage carries the hook.
   *
   * Races. Two completions may race (the action's stage and the caller): both call release, which
   * is idempotent (the permit or node releases once), and both then try to complete; one wins.
   * Cancellation of the action's stage: start() publishes the stage in a volatile field and then
   * reads isCancelled(); cancel() completes this future and then reads the field. Whichever runs
   * second sees the other's write, so a cancellation always reaches a stage that was started.
   */
  /** A future whose every completion first releases what the call holds. */
  abstract static class ReleasingFuture<T> extends CompletableFuture<T> {

    private final Predicate<? super Throwable> isDrop;
    private volatile CompletionStage<T> upstream;

    ReleasingFuture(Predicate<? super Throwable> isDrop) {
      this.isDrop = isDrop;
    }

    /** Releases with the given {@link Permit} outcome; idempotent; must not throw. */
    abstract void release(int outcome);

    /** Invokes {@code action} and ties its stage to this future. Call at most once. */
    final void start(Supplier<? extends CompletionStage<T>> action) {
      if (isDone()) {
        return; // ended before it started (a queued call its caller gave up on): do not start it
      }
      CompletionStage<T> stage;
      try {
        stage = action.get();
        if (stage == null) {
          throw new NullPointerException("action returned a null stage");
        }
      } catch (Throwable t) {
        completeExceptionally(t);
        return;
      }
      upstream = stage;
      if (isCancelled()) {
        cancelQuietly(stage);
        return;
      }
      try {
        stage.whenComplete(this::fromStage);
      } catch (Throwable brokenStage) {
        // A foreign stage that refuses the callback would otherwise hold the permit for ever.
        completeExceptionally(brokenStage);
      }
    }

    private void fromStage(T value, Throwable failure) {
      if (failure == null) {
        complete(value);
      } else {
        completeExceptionally(failure);
      }
    }

    private void end(int outcome) {
      if (!isDone()) {
        release(outcome);
      }
    }

    @Override
    public boolean complete(T value) {
      end(Permit.SUCCESS);
      return super.complete(value);
    }

    @Override
    public boolean completeExceptionally(Throwable ex) {
      end(classify(ex, isDrop));
      return super.completeExceptionally(ex);
    }

    /** Releases (a cancellation is no capacity signal, unless it came too late), then cancels. */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      end(Permit.FAILED);
      boolean cancelled = super.cancel(mayInterruptIfRunning);
      CompletionStage<T> stage = upstream;
      if (stage != null && isCancelled()) {
        cancelQuietly(stage);
      }
      return cancelled;
    }

    @Override
    public void obtrudeValue(T value) {
      end(Permit.SUCCESS);
      super.obtrudeValue(value);
    }

    @Override
    public void obtrudeException(Throwable ex) {
      end(classify(ex, isDrop));
      super.obtrudeException(ex);
    }

    @Override
    public CompletableFuture<T> completeAsync(Supplier<? extends T> supplier, Executor executor) {
      if (supplier == null || executor == null) {
        throw new NullPointerException();
      }
      // The JDK's own completeAsync completes through a private path; route it through ours.
      executor.execute(() -> {
        try {
          complete(supplier.get());
        } catch (Throwable t) {
          completeExceptionally(t);
        }
      });
      return this;
    }

    @Override
    public CompletableFuture<T> completeAsync(Supplier<? extends T> supplier) {
      return completeAsync(supplier, defaultExecutor());
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
      return new CompletableFuture<>();
    }
  }

  /** The future of a bulkhead's {@code callAsync}: releases its {@link Permit}. */
  static final class PermitFuture<T> extends ReleasingFuture<T> {
    private final Permit permit;

    PermitFuture(Permit permit, Predicate<? super Throwable> isDrop) {
      super(isDrop);
      this.permit = permit;
    }

    @Override
    void release(int outcome) {
      permit.finish(outcome);
    }
  }

  static void cancelQuietly(CompletionStage<?> stage) {
    try {
      stage.toCompletableFuture().cancel(false);
    } catch (RuntimeException cannotCancel) {
      // A stage that cannot be turned into a future (or refuses to be cancelled) cannot be
      // cancelled; the permit is already released, which is what the caller asked for.
    }
  }
}
