package dev.shepherd.auth;

import dev.shepherd.core.Policy;
import dev.shepherd.core.RejectedException;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/** Small test-only guards, standing in for the sibling modules' Bulkhead and RateLimiter. */
final class TestPolicies {

  private TestPolicies() {}

  /** At most {@code limit} calls in flight; more are rejected with a one-second retry-after. */
  static final class ConcurrencyCap implements Policy {
    private final String name;
    private final Semaphore permits;
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger maxInFlight = new AtomicInteger();
    final AtomicInteger rejected = new AtomicInteger();

    ConcurrencyCap(String name, int limit) {
      this.name = name;
      this.permits = new Semaphore(limit);
    }

    @Override
    public String name() {
      return name;
    }

    private RejectedException rejection() {
      rejected.incrementAndGet();
      return new RejectedException(name, "'" + name + "' is full", Duration.ofSeconds(1));
    }

    private void enter() {
      int n = inFlight.incrementAndGet();
      maxInFlight.accumulateAndGet(n, Math::max);
    }

    private void leave() {
      inFlight.decrementAndGet();
      permits.release();
    }

    @Override
    public <T> T call(Callable<? extends T> action) throws Exception {
      if (!permits.tryAcquire()) {
        throw rejection();
      }
      enter();
      try {
        return action.call();
      } finally {
        leave();
      }
    }

    @Override
    public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
      if (!permits.tryAcquire()) {
        return CompletableFuture.failedFuture(rejection());
      }
      enter();
      CompletionStage<T> stage;
      try {
        stage = action.get();
      } catch (RuntimeException e) {
        leave();
        return CompletableFuture.failedFuture(e);
      }
      return stage.whenComplete((v, t) -> leave());
    }
  }

  /** Allows {@code budget} calls in total, then rejects every call with a 30-second retry-after. */
  static final class Budget implements Policy {
    private final String name;
    private final AtomicInteger remaining;
    final AtomicInteger admitted = new AtomicInteger();
    final AtomicInteger rejected = new AtomicInteger();

    private final Duration hint;

    Budget(String name, int budget) {
      this(name, budget, Duration.ofSeconds(30));
    }

    Budget(String name, int budget, Duration hint) {
      this.name = name;
      this.remaining = new AtomicInteger(budget);
      this.hint = hint;
    }

    void refill(int permits) {
      remaining.addAndGet(permits);
    }

    @Override
    public String name() {
      return name;
    }

    private boolean admit() {
      if (remaining.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
        admitted.incrementAndGet();
        return true;
      }
      rejected.incrementAndGet();
      return false;
    }

    @Override
    public <T> T call(Callable<? extends T> action) throws Exception {
      if (!admit()) {
        throw new RejectedException(name, "'" + name + "' budget spent", hint);
      }
      return action.call();
    }

    @Override
    public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
      if (!admit()) {
        return CompletableFuture.failedFuture(
            new RejectedException(name, "'" + name + "' budget spent", hint));
      }
      return action.get();
    }
  }
}
