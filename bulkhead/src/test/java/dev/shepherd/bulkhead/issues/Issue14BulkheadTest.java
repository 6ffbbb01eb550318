package dev.shepherd.bulkhead.issues;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.bulkhead.AdaptiveBulkhead;
import dev.shepherd.bulkhead.Bulkhead;
import dev.shepherd.bulkhead.BulkheadFullException;
import dev.shepherd.bulkhead.Permit;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.core.Ticker;
import dev.shepherd.testing.ManualClock;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.SocketTimeoutException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.InterruptedByTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 14, bulkhead half: each numbered case as it was reproduced, on both bulkheads where it
 * applies. Every test here failed before the fix.
 */
@Timeout(60)
class Issue14BulkheadTest {

  /** The bulkhead under test, seen through what both kinds offer. */
  record Under(Policy policy, IntSupplier available, IntSupplier inFlight, IntSupplier waiting,
      Supplier<Permit> tryAcquire) {}

  enum Kind {
    FIXED {
      @Override
      Under build(int limit, Ticker ticker, Duration maxWait) {
        Bulkhead b = Bulkhead.builder().name("fixed").maxConcurrent(limit).maxWait(maxWait).ticker(ticker)
            .listener(EventListener.noop()).build();
        return new Under(b, b::available, b::inFlight, b::waiting, b::tryAcquire);
      }
    },
    ADAPTIVE {
      @Override
      Under build(int limit, Ticker ticker, Duration maxWait) {
        AdaptiveBulkhead b = AdaptiveBulkhead.builder().name("adaptive").minLimit(limit).maxLimit(limit)
            .maxWait(maxWait).ticker(ticker).listener(EventListener.noop()).build();
        return new Under(b, b::available, b::inFlight, b::waiting, b::tryAcquire);
      }
    };

    abstract Under build(int limit, Ticker ticker, Duration maxWait);

    Under build(int limit) {
      return build(limit, new ManualClock(), Duration.ZERO);
    }
  }

  private static void assertAllBack(Under b, int limit) {
    assertEquals(0, b.inFlight().getAsInt(), "in flight");
    assertEquals(limit, b.available().getAsInt(), "available");
    List<Permit> permits = new ArrayList<>();
    for (int i = 0; i < limit; i++) {
      permits.add(assertNotNull(b.tryAcquire().get()));
    }
    assertNull(b.tryAcquire().get(), "a permit was invented");
    permits.forEach(Permit::close);
  }

  private static <T> T assertNotNull(T value) {
    org.junit.jupiter.api.Assertions.assertNotNull(value, "a permit is missing");
    return value;
  }

  // ---- 1. A foreign stage that throws from whenComplete -------------------------------------------

  /** A stage that refuses callbacks, as a broken or foreign {@link CompletionStage} may. */
  static final class RefusingStage<T> extends CompletableFuture<T> {
    final boolean registerFirst;

    RefusingStage(boolean registerFirst) {
      this.registerFirst = registerFirst;
    }

    @Override
    public CompletableFuture<T> whenComplete(BiConsumer<? super T, ? super Throwable> action) {
      if (registerFirst) {
        super.whenComplete(action);
      }
      throw new IllegalStateException("this stage takes no callbacks");
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void case1_aStageThatThrowsFromWhenCompleteLosesNoPermit(Kind kind) {
    Under b = kind.build(2);
    CompletionStage<String> result = b.policy().callAsync(() -> new RefusingStage<>(false));
    assertAllBack(b, 2);
    ExecutionException e = assertThrows(ExecutionException.class, () -> result.toCompletableFuture().get());
    assertInstanceOf(IllegalStateException.class, e.getCause());
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void case1_aStageThatRegistersTheCallbackAndThenThrowsReleasesOnce(Kind kind) {
    Under b = kind.build(2);
    RefusingStage<String> inner = new RefusingStage<>(true);
    CompletionStage<String> result = b.policy().callAsync(() -> inner);
    assertTrue(result.toCompletableFuture().isCompletedExceptionally());
    inner.complete("late"); // the registered callback runs now: no second release
    assertAllBack(b, 2);
  }

  // ---- 2. The release happens before the returned stage completes, whoever completes it ------------

  /** How a call ends; each leaves both stages ended. */
  enum Ending {
    ACTION_COMPLETES((inner, outer) -> inner.complete("done")),
    ACTION_FAILS((inner, outer) -> inner.completeExceptionally(new IllegalStateException("failed"))),
    ACTION_IS_CANCELLED((inner, outer) -> inner.cancel(true)),
    CALLER_CANCELS((inner, outer) -> outer.cancel(true)),
    CALLER_COMPLETES((inner, outer) -> outer.complete("caller's answer")),
    CALLER_FAILS((inner, outer) -> outer.completeExceptionally(new TimeoutException("caller gave up"))),
    CALLER_TIMES_OUT((inner, outer) -> {
      outer.orTimeout(1, TimeUnit.NANOSECONDS); // completeExceptionally from the JDK's delayer
      outer.handle((v, f) -> null).join();
    }),
    CALLER_OBTRUDES((inner, outer) -> outer.obtrudeValue("forced")),
    CALLER_COMPLETES_ASYNC((inner, outer) -> {
      Executor direct = Runnable::run;
      outer.completeAsync(() -> "async", direct);
    });

    final BiConsumer<CompletableFuture<String>, CompletableFuture<String>> end;

    Ending(BiConsumer<CompletableFuture<String>, CompletableFuture<String>> end) {
      this.end = end;
    }
  }

  static List<Object[]> kindsAndEndings() {
    List<Object[]> all = new ArrayList<>();
    for (Kind k : Kind.values()) {
      for (Ending e : Ending.values()) {
        all.add(new Object[] {k, e});
      }
    }
    return all;
  }

  /**
   * Limit 1: a dependent the caller added to the returned stage before it ended sees the permit
   * back, and can take it; afterwards both stages have ended and the permit is back exactly once.
   */
  @ParameterizedTest
  @org.junit.jupiter.params.provider.MethodSource("kindsAndEndings")
  void case2_everyDependentSeesThePermitBackHoweverTheCallEnds(Kind kind, Ending ending) throws Exception {
    Under b = kind.build(1);
    CompletableFuture<String> inner = new CompletableFuture<>();
    CompletableFuture<String> outer = b.policy().callAsync(() -> inner).toCompletableFuture();
    assertEquals(0, b.available().getAsInt());
    AtomicReference<Permit> takenByDependent = new AtomicReference<>();
    CompletableFuture<Integer> seen = outer.handle((v, f) -> {
      takenByDependent.set(b.tryAcquire().get()); // a retry from a dependent must find room
      return b.available().getAsInt() + (takenByDependent.get() == null ? 0 : 1);
    });
    ending.end.accept(inner, outer);
    assertEquals(1, seen.get(5, TimeUnit.SECONDS), "the dependent ran before the release");
    org.junit.jupiter.api.Assertions.assertNotNull(takenByDependent.get(), "the dependent found no permit");
    takenByDependent.get().close();
    // End whichever stage is still running: nothing changes, both have ended, the permit is back.
    inner.complete("late");
    outer.complete("late");
    assertTrue(inner.isDone() && outer.isDone());
    assertAllBack(b, 1);
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void case2_aCallerCancellationReachesTheActionsStage(Kind kind) {
    Under b = kind.build(1);
    CompletableFuture<String> inner = new CompletableFuture<>();
    CompletableFuture<String> outer = b.policy().callAsync(() -> inner).toCompletableFuture();
    outer.cancel(false);
    assertTrue(inner.isCancelled());
    assertThrows(CancellationException.class, outer::join);
    assertAllBack(b, 1);
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void case2_dependentsOfTheReturnedStageAreOrdinaryFutures(Kind kind) {
    Under b = kind.build(1);
    CompletableFuture<String> inner = new CompletableFuture<>();
    CompletableFuture<String> outer = b.policy().callAsync(() -> inner).toCompletableFuture();
    CompletableFuture<String> dependent = outer.thenApply(s -> s + "!");
    dependent.complete("the caller's own dependent"); // must not release the call's permit
    assertEquals(0, b.available().getAsInt());
    inner.complete("x");
    assertAllBack(b, 1);
  }

  // ---- 3. A ticker that throws ---------------------------------------------------------------------

  /** A ticker that throws from a chosen read on. */
  static final class BreakingTicker implements Ticker {
    final ManualClock clock = new ManualClock();
    volatile boolean broken;

    @Override
    public long read() {
      if (broken) {
        throw new IllegalStateException("ticker broke");
      }
      return clock.read();
    }
  }

  @Test
  void case3_aTickerThatThrowsAtTheGrantLeaksNoAdaptivePermit() {
    BreakingTicker ticker = new BreakingTicker();
    AdaptiveBulkhead b = AdaptiveBulkhead.builder().minLimit(2).maxLimit(2).ticker(ticker)
        .listener(EventListener.noop()).build();
    ticker.broken = true;
    assertThrows(IllegalStateException.class, b::tryAcquire);
    assertThrows(IllegalStateException.class, b::acquire);
    assertThrows(IllegalStateException.class, () -> b.call(() -> "never"));
    assertThrows(IllegalStateException.class, () -> b.callAsync(() -> CompletableFuture.completedFuture(1)));
    assertEquals(0, b.inFlight());
    ticker.broken = false;
    assertAllBack(new Under(b, b::available, b::inFlight, b::waiting, b::tryAcquire), 2);
  }

  @Test
  void case3_aTickerThatThrowsWhenTheCallEndsCostsTheSampleNotThePermitNorTheResult() throws Exception {
    BreakingTicker ticker = new BreakingTicker();
    AdaptiveBulkhead b = AdaptiveBulkhead.builder().minLimit(2).maxLimit(2).ticker(ticker)
        .listener(EventListener.noop()).build();
    assertEquals("result", b.call(() -> {
      ticker.broken = true;
      return "result";
    }));
    ticker.broken = false;
    IOException thrown = new IOException("the call's own failure");
    IOException e = assertThrows(IOException.class, () -> b.call(() -> {
      ticker.broken = true;
      throw thrown;
    }));
    assertSame(thrown, e);
    ticker.broken = false;
    CompletableFuture<String> inner = new CompletableFuture<>();
    CompletableFuture<String> outer = b.callAsync(() -> inner).toCompletableFuture();
    ticker.broken = true;
    inner.complete("async result");
    assertEquals("async result", outer.getNow(null));
    ticker.broken = false;
    assertAllBack(new Under(b, b::available, b::inFlight, b::waiting, b::tryAcquire), 2);
  }

  /** A waiter whose ticker breaks while it waits must not stay queued and swallow the next release. */
  @ParameterizedTest
  @EnumSource(Kind.class)
  void case3_aTickerThatThrowsWhileWaitingLeavesNoQueuedWaiter(Kind kind) throws Exception {
    AtomicBoolean breakNextRead = new AtomicBoolean();
    ManualClock clock = new ManualClock();
    Ticker ticker = () -> {
      if (breakNextRead.getAndSet(false)) {
        throw new IllegalStateException("ticker broke");
      }
      return clock.read();
    };
    Under b = kind.build(1, ticker, Duration.ofSeconds(1));
    Permit held = b.tryAcquire().get();
    // The waiter reads the ticker once when it starts waiting and again in its wait loop: break the
    // second read, after it has queued.
    AtomicReference<Throwable> outcome = new AtomicReference<>();
    Thread waiter = new Thread(() -> {
      try {
        b.policy().call(() -> "never");
      } catch (Throwable t) {
        outcome.set(t);
      }
    });
    waiter.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (b.waiting().getAsInt() == 0 && waiter.isAlive() && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    breakNextRead.set(true);
    waiter.join(20_000);
    assertFalse(waiter.isAlive());
    assertInstanceOf(IllegalStateException.class, outcome.get());
    assertEquals(0, b.waiting().getAsInt());
    held.close();
    assertAllBack(b, 1);
  }

  // ---- 4. Huge durations saturate ------------------------------------------------------------------

  static final Duration HUGE = Duration.ofSeconds(Long.MAX_VALUE, 999_999_999);

  @ParameterizedTest
  @EnumSource(Kind.class)
  void case4_aWaitAsLongAsItTakesEndsWithARejectionNotAnArithmeticException(Kind kind) throws Exception {
    ManualClock clock = new ManualClock();
    Under b = kind.build(1, clock, Duration.ofSeconds(Long.MAX_VALUE));
    Permit held = b.tryAcquire().get();
    AtomicReference<Throwable> outcome = new AtomicReference<>();
    Thread waiter = new Thread(() -> {
      try {
        b.policy().call(() -> "never");
      } catch (Throwable t) {
        outcome.set(t);
      }
    });
    waiter.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (b.waiting().getAsInt() == 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    clock.advanceNanos(Long.MAX_VALUE); // time gets there
    waiter.join(20_000);
    assertFalse(waiter.isAlive());
    BulkheadFullException e = assertInstanceOf(BulkheadFullException.class, outcome.get());
    assertEquals(Duration.ofSeconds(Long.MAX_VALUE), e.waited());
    held.close();
    assertAllBack(b, 1);
  }

  @Test
  void case4_everyDurationSetterAcceptsTheLargestDurationAndWorks() throws Exception {
    ManualClock clock = new ManualClock();
    Bulkhead fixed = Bulkhead.builder().maxConcurrent(1).maxWait(HUGE).ticker(clock)
        .listener(EventListener.noop()).build();
    assertEquals(HUGE, fixed.maxWait());
    assertEquals("x", fixed.call(() -> "x"));
    AdaptiveBulkhead adaptive = AdaptiveBulkhead.builder().minLimit(1).maxLimit(4).initialLimit(2).maxWait(HUGE)
        .latencyTarget(HUGE).callTimeout(HUGE).minLatencyWindow(HUGE).ticker(clock)
        .listener(EventListener.noop()).build();
    for (int i = 0; i < 10; i++) {
      Permit p = adaptive.acquire();
      clock.advanceNanos(Long.MAX_VALUE / 16);
      p.success();
      assertThrows(TimeoutException.class, () -> adaptive.call(() -> {
        throw new TimeoutException();
      }));
    }
    assertEquals(0, adaptive.inFlight());
    BulkheadFullException e = new BulkheadFullException("x", 1, HUGE);
    assertEquals(HUGE, e.waited());
    assertTrue(e.getMessage().contains(HUGE.toString()), e.getMessage());
  }

  // ---- 5. Timeouts are drops, by what they are ------------------------------------------------------

  static List<Throwable> timeouts() {
    InterruptedIOException interruptedIo = new InterruptedIOException("read timed out");
    return List.of(
        new TimeoutException("j.u.c"),
        new HttpTimeoutException("request timed out"),
        new HttpConnectTimeoutException("connect timed out"),
        new SocketTimeoutException("read timed out"),
        interruptedIo,
        new InterruptedByTimeoutException(),
        new CompletionException(new HttpTimeoutException("wrapped")),
        new ExecutionException(new SocketTimeoutException("wrapped")),
        new UncheckedIOException(new HttpTimeoutException("in the chain")),
        new RuntimeException("deep", new IOException("io", new CompletionException(new TimeoutException()))));
  }

  static List<Throwable> notTimeouts() {
    Exception a = new Exception("a");
    Exception b = new Exception("b", a);
    a.initCause(b); // a cycle: the walk must end
    return List.of(new IOException("connection reset"), new IllegalStateException("bug"),
        new CompletionException(new IOException("refused")), a, new CancellationException());
  }

  @Test
  void case5_theDefaultClassifierKnowsTheJdksTimeoutsAlsoAsCauses() {
    for (Throwable t : timeouts()) {
      assertTrue(AdaptiveBulkhead.isTimeout(t), t.toString());
    }
    for (Throwable t : notTimeouts()) {
      assertFalse(AdaptiveBulkhead.isTimeout(t), t.toString());
    }
    assertFalse(AdaptiveBulkhead.isTimeout(null));
  }

  /** The documented depth: a timeout 15 causes down is found; one 16 down is not (nor is a cycle followed for ever). */
  @Test
  void case5_theCauseChainIsFollowedSixteenDeep() {
    Throwable found = new TimeoutException("at depth 15");
    for (int i = 0; i < 15; i++) {
      found = new RuntimeException("wrapper " + i, found);
    }
    assertTrue(AdaptiveBulkhead.isTimeout(found));
    assertFalse(AdaptiveBulkhead.isTimeout(new RuntimeException("one more", found)));
  }

  /** Each timeout, out of {@code call} and out of {@code callAsync}, lowers the limit by the factor. */
  @Test
  void case5_eachTimeoutLowersTheAdaptiveLimitThroughBothWaysIn() {
    for (Throwable t : timeouts()) {
      for (boolean async : new boolean[] {false, true}) {
        AdaptiveBulkhead b = AdaptiveBulkhead.builder().minLimit(1).maxLimit(100).initialLimit(50)
            .ticker(new ManualClock()).listener(EventListener.noop()).build();
        if (async) {
          b.callAsync(() -> CompletableFuture.failedFuture(t));
        } else {
          assertThrows(Exception.class, () -> b.call(() -> {
            throw t instanceof Exception ? (Exception) t : new RuntimeException(t);
          }));
        }
        assertEquals(45, b.limit(), t + (async ? " via callAsync" : " via call"));
      }
    }
  }

  /**
   * The reproduction: 2,000 calls at full load, every other one failing with the JDK HTTP client's
   * timeout. The limit must not rise (it rose from 50 to 67); it falls, as a steady drop rate of
   * one half settles it near sqrt((1 - p) / (p (1 - 0.9))), about 3.
   */
  @Test
  void case5_theLimitDoesNotRiseWhenHalfTheCallsTimeOutAtFullLoad() {
    ManualClock clock = new ManualClock();
    AdaptiveBulkhead b = AdaptiveBulkhead.builder().minLimit(1).maxLimit(200).initialLimit(50)
        .latencyTarget(Duration.ofSeconds(1)).ticker(clock).listener(EventListener.noop()).build();
    int ended = 0;
    while (ended < 2_000) {
      List<CompletableFuture<String>> round = new ArrayList<>();
      while (round.size() < 2_000 - ended) { // fill the bulkhead: full load
        CompletableFuture<String> stage = new CompletableFuture<>();
        if (b.callAsync(() -> stage).toCompletableFuture().isCompletedExceptionally()) {
          break;
        }
        round.add(stage);
      }
      clock.advance(Duration.ofMillis(10)); // every call takes the same time: no latency signal
      for (CompletableFuture<String> stage : round) {
        if (ended++ % 2 == 0) {
          stage.complete("ok");
        } else {
          stage.completeExceptionally(new HttpTimeoutException("request timed out"));
        }
      }
    }
    assertTrue(b.limit() <= 5, "the limit is " + b.limit() + " after half the calls timed out");
    assertEquals(0, b.inFlight());
  }
}
