package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.core.Policy;
import dev.shepherd.core.RejectedException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class RetryTest {

  private static final Duration SECOND = Duration.ofSeconds(1);

  private final ManualClock clock = ManualClock.instant();
  private final List<Event> events = new CopyOnWriteArrayList<>();

  private Retry.Builder retry() {
    return Retry.builder()
        .name("test")
        .backoff(TestBackoffs.constant(SECOND))
        .ticker(clock)
        .sleeper(clock)
        .random(new SplittableRandom(1))
        .listener(events::add);
  }

  private List<Event.Kind> kinds() {
    return events.stream().map(Event::kind).collect(Collectors.toList());
  }

  @Test
  void aFirstAttemptThatSucceedsNeitherWaitsNorReports() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    assertEquals("ok", retry().build().call(() -> {
      calls.incrementAndGet();
      return "ok";
    }));
    assertEquals(1, calls.get());
    assertEquals(List.of(), clock.sleeps());
    assertEquals(List.of(), events);
  }

  @Test
  void retriesUntilSuccessWaitingTheBackoffDelays() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().backoff(TestBackoffs.sequence(SECOND, Duration.ofSeconds(2))).maxAttempts(5).build();
    String result = retry.call(() -> {
      if (calls.incrementAndGet() < 4) {
        throw new IOException("down " + calls.get());
      }
      return "up";
    });
    assertEquals("up", result);
    assertEquals(4, calls.get());
    assertEquals(List.of(SECOND, Duration.ofSeconds(2), Duration.ofSeconds(2)), clock.sleeps());
    assertEquals(List.of(Event.Kind.RETRY, Event.Kind.RETRY, Event.Kind.RETRY, Event.Kind.SUCCEEDED), kinds());
    assertEquals(SECOND, events.get(0).delay());
    assertEquals("test", events.get(0).source());
    assertEquals("down 1", events.get(0).cause().getMessage());
  }

  @Test
  void theLastFailureIsThrownWithTheEarlierOnesSuppressedOldestFirst() {
    AtomicInteger calls = new AtomicInteger();
    IOException thrown = assertThrows(IOException.class, () -> retry().maxAttempts(4).build().call(() -> {
      throw new IOException("failure " + calls.incrementAndGet());
    }));
    assertEquals("failure 4", thrown.getMessage());
    assertEquals(List.of("failure 1", "failure 2", "failure 3"),
        List.of(thrown.getSuppressed()).stream().map(Throwable::getMessage).collect(Collectors.toList()));
    assertEquals(Event.Kind.GAVE_UP, events.get(events.size() - 1).kind());
    assertSame(thrown, events.get(events.size() - 1).cause());
  }

  @Test
  void suppressedFailuresAreBoundedToTen() {
    IOException thrown = assertThrows(IOException.class, () -> retry().maxAttempts(50).build().call(() -> {
      throw new IOException("again");
    }));
    assertEquals(Retry.MAX_SUPPRESSED, thrown.getSuppressed().length);
  }

  @Test
  void theSameExceptionThrownEveryTimeIsNotSuppressedIntoItself() {
    IOException same = new IOException("singleton");
    IOException thrown = assertThrows(IOException.class, () -> retry().maxAttempts(3).build().call(() -> {
      throw same;
    }));
    assertSame(same, thrown);
    assertEquals(0, thrown.getSuppressed().length);
  }

  @Test
  void aFailureThatRetryOnRejectsStopsAtOnce() {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().retryOn(e -> e instanceof IOException).build();
    assertThrows(IllegalStateException.class, () -> retry.call(() -> {
      calls.incrementAndGet();
      throw new IllegalStateException("bug");
    }));
    assertEquals(1, calls.get());
    assertEquals(List.of(), clock.sleeps());
    assertEquals(List.of(), events, "a non-retryable first failure is not a retry matter");
  }

  @Test
  void abortOnWinsOverRetryOn() {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().abortOn(e -> e.getMessage().equals("fatal")).maxAttempts(5).build();
    IOException thrown = assertThrows(IOException.class, () -> retry.call(() -> {
      throw new IOException(calls.incrementAndGet() == 2 ? "fatal" : "transient");
    }));
    assertEquals("fatal", thrown.getMessage());
    assertEquals(2, calls.get());
    assertEquals(List.of(Event.Kind.RETRY, Event.Kind.GAVE_UP), kinds());
  }

  @Test
  void errorsAreNeverRetried() {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().retryOn(t -> true).build();
    assertThrows(StackOverflowError.class, () -> retry.call(() -> {
      calls.incrementAndGet();
      throw new StackOverflowError("simulated");
    }));
    assertEquals(1, calls.get());
  }

  @Test
  void exhaustedResultRetriesReturnTheLastResult() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().retryOnResult("busy"::equals).maxAttempts(3).build();
    assertEquals("busy", retry.call(() -> {
      calls.incrementAndGet();
      return "busy";
    }));
    assertEquals(3, calls.get());
    assertEquals(List.of(Event.Kind.RETRY, Event.Kind.RETRY, Event.Kind.GAVE_UP), kinds());
  }

  @Test
  void aRetriedResultThenSuccessReturnsTheSuccess() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().retryOnResult(r -> r == null).maxAttempts(3).build();
    assertEquals("ready", retry.call(() -> calls.incrementAndGet() < 2 ? null : "ready"));
    assertEquals(List.of(SECOND), clock.sleeps());
  }

  @Test
  void abortOnResultReturnsThatResultAtOnce() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().retryOnResult(r -> true).abortOnResult("gone"::equals).maxAttempts(5).build();
    assertEquals("gone", retry.call(() -> calls.incrementAndGet() < 2 ? "busy" : "gone"));
    assertEquals(2, calls.get());
  }

  @Test
  void theWaitBeforeTheDeadlineIsTrimmedAndNoAttemptStartsAfterIt() {
    List<Long> attemptTimes = new ArrayList<>();
    Retry retry = retry().maxAttempts(100).maxElapsed(Duration.ofMillis(2500)).build();
    assertThrows(IOException.class, () -> retry.call(() -> {
      attemptTimes.add(clock.read());
      throw new IOException("down");
    }));
    assertEquals(List.of(SECOND, SECOND, Duration.ofMillis(500)), clock.sleeps());
    assertEquals(List.of(0L, 1_000_000_000L, 2_000_000_000L, 2_500_000_000L), attemptTimes);
    assertTrue(events.get(events.size() - 1).detail().contains("deadline"));
  }

  @Test
  void slowAttemptsCountAgainstTheDeadline() {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().maxAttempts(100).maxElapsed(Duration.ofSeconds(10)).build();
    assertThrows(IOException.class, () -> retry.call(() -> {
      calls.incrementAndGet();
      clock.advance(Duration.ofSeconds(4)); // each attempt takes 4 s
      throw new IOException("slow");
    }));
    // attempts at 0, 5 and 10 (trimmed wait of 1 s); the third ends at 14 s, past the deadline
    assertEquals(3, calls.get());
    assertEquals(List.of(SECOND, SECOND), clock.sleeps());
  }

  @Test
  void aRetryAfterHintMakesTheWaitAtLeastTheHintPlusJitter() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().maxAttempts(2).build();
    retry.call(() -> {
      if (calls.incrementAndGet() == 1) {
        throw new RejectedException("limiter", "slow down", Duration.ofSeconds(30));
      }
      return "ok";
    });
    Duration wait = clock.sleeps().get(0);
    assertTrue(wait.compareTo(Duration.ofSeconds(30)) >= 0, wait::toString);
    assertTrue(wait.compareTo(Duration.ofSeconds(36)) <= 0, wait::toString); // spread 0.2
  }

  @Test
  void aPersonalSlotIsKeptWithTheSlotJitterAndDoesNotAdvanceTheBackoff() throws Exception {
    // Given a call refused twice with a 30 s personal slot, then failing plainly once
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().maxAttempts(5)
        .backoff(TestBackoffs.sequence(SECOND, Duration.ofSeconds(2), Duration.ofSeconds(4))).build();
    assertEquals("ok", retry.call(() -> {
      int n = calls.incrementAndGet();
      if (n <= 2) {
        throw new RejectedException("admission", "your slot", 30_000_000_000L, true);
      }
      if (n == 3) {
        throw new IllegalStateException("plain failure");
      }
      return "ok";
    }));
    // Then the slots are kept within 100 ms, and the plain failure gets the backoff's first delay
    List<Duration> waits = clock.sleeps();
    for (Duration wait : waits.subList(0, 2)) {
      assertTrue(wait.compareTo(Duration.ofSeconds(30)) >= 0 && wait.compareTo(Duration.ofMillis(30_100)) <= 0,
          wait::toString);
    }
    assertEquals(SECOND, waits.get(2));
  }

  @Test
  void hintJitterSpreadsAFleetAboveTheHint() throws Exception {
    List<Duration> waits = new ArrayList<>();
    for (int client = 0; client < 50; client++) {
      ManualClock own = ManualClock.instant();
      AtomicInteger calls = new AtomicInteger();
      Retry.builder().backoff(TestBackoffs.constant(Duration.ZERO)).ticker(own).sleeper(own)
          .random(new SplittableRandom(client)).listener(e -> { }).build()
          .call(() -> {
            if (calls.incrementAndGet() == 1) {
              throw new RejectedException("server", "busy", Duration.ofSeconds(30));
            }
            return null;
          });
      waits.add(own.sleeps().get(0));
    }
    assertTrue(waits.stream().allMatch(w -> w.compareTo(Duration.ofSeconds(30)) >= 0));
    assertTrue(waits.stream().distinct().count() > 45, "waits must be spread, got " + waits);
  }

  @Test
  void aHintOfZeroStillGetsTheMinimumJitter() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().backoff(TestBackoffs.constant(Duration.ZERO))
        .retryAfterMinJitter(Duration.ofMillis(500)).build();
    retry.call(() -> {
      if (calls.incrementAndGet() == 1) {
        throw new RejectedException("server", "now", Duration.ZERO);
      }
      return "ok";
    });
    Duration wait = clock.sleeps().get(0);
    assertTrue(wait.compareTo(Duration.ofMillis(500)) <= 0, wait::toString);
  }

  @Test
  void hintsAreClampedToMaxRetryAfter() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().maxRetryAfter(Duration.ofSeconds(10)).retryAfterSpread(0.5).build();
    retry.call(() -> {
      if (calls.incrementAndGet() == 1) {
        throw new RejectedException("server", "come back tomorrow", Duration.ofDays(1));
      }
      return "ok";
    });
    Duration wait = clock.sleeps().get(0);
    assertTrue(wait.compareTo(Duration.ofSeconds(10)) >= 0 && wait.compareTo(Duration.ofSeconds(15)) <= 0,
        wait::toString);
  }

  @Test
  void aHintEndingPastTheDeadlineGivesUpWithoutWaiting() {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().maxElapsed(Duration.ofSeconds(10)).maxAttempts(5).build();
    assertThrows(RejectedException.class, () -> retry.call(() -> {
      calls.incrementAndGet();
      throw new RejectedException("server", "busy", Duration.ofSeconds(30));
    }));
    assertEquals(1, calls.get());
    assertEquals(List.of(), clock.sleeps());
    assertEquals(List.of(Event.Kind.GAVE_UP), kinds());
  }

  @Test
  void aHintWrappedAsACauseIsFound() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    retry().build().call(() -> {
      if (calls.incrementAndGet() == 1) {
        throw new IOException("wrapped", new RejectedException("server", "busy", Duration.ofSeconds(7)));
      }
      return "ok";
    });
    assertTrue(clock.sleeps().get(0).compareTo(Duration.ofSeconds(7)) >= 0);
  }

  @Test
  void aCustomHintExtractorIsUsedAndABrokenOneIsIgnored() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Retry custom = retry().maxAttempts(3)
        .hintExtractor(t -> t.getMessage().equals("boom") ? Optional.of(Duration.ofSeconds(5)) : null)
        .build();
    custom.call(() -> {
      int n = calls.incrementAndGet();
      if (n == 1) {
        throw new IOException("boom");
      }
      if (n == 2) {
        throw new IOException("null hint");
      }
      return "ok";
    });
    assertTrue(clock.sleeps().get(0).compareTo(Duration.ofSeconds(5)) >= 0);
    assertEquals(SECOND, clock.sleeps().get(1));

    Retry broken = retry().hintExtractor(t -> {
      throw new IllegalStateException("broken extractor");
    }).build();
    AtomicInteger brokenCalls = new AtomicInteger();
    assertEquals("ok", broken.call(() -> {
      if (brokenCalls.incrementAndGet() == 1) {
        throw new IOException("x");
      }
      return "ok";
    }));
  }

  @Test
  void anEmptyBudgetAllowsNoRetry() {
    RetryBudget budget = RetryBudget.builder().ratio(0).minRetriesPerSecond(0).ticker(clock).build();
    AtomicInteger calls = new AtomicInteger();
    assertThrows(IOException.class, () -> retry().budget(budget).maxAttempts(5).build().call(() -> {
      calls.incrementAndGet();
      throw new IOException("down");
    }));
    assertEquals(1, calls.get());
    assertTrue(events.get(0).detail().contains("budget"), events.get(0).detail());
  }

  @Test
  void aSharedBudgetCapsRetriesAcrossCalls() {
    // ratio 0.5 and no floor: 10 calls deposit 5 retries in all
    RetryBudget budget = RetryBudget.builder().ratio(0.5).minRetriesPerSecond(0).ticker(clock).build();
    Retry retry = retry().budget(budget).maxAttempts(3).backoff(TestBackoffs.constant(Duration.ZERO)).build();
    AtomicInteger calls = new AtomicInteger();
    for (int i = 0; i < 10; i++) {
      assertThrows(IOException.class, () -> retry.call(() -> {
        calls.incrementAndGet();
        throw new IOException("down");
      }));
    }
    // without a budget: 30 attempts; with it: 10 first attempts + at most 5 retries
    assertTrue(calls.get() <= 15, "attempts: " + calls.get());
    assertTrue(calls.get() >= 14, "the budget must not be stingier than its ratio: " + calls.get());
  }

  @Test
  void anInterruptDuringTheWaitStopsAtOnceAndKeepsTheFlag() {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().maxAttempts(5).sleeper(d -> {
      throw new InterruptedException("interrupted while waiting");
    }).build();
    try {
      InterruptedException thrown = assertThrows(InterruptedException.class, () -> retry.call(() -> {
        calls.incrementAndGet();
        throw new IOException("down");
      }));
      assertTrue(Thread.currentThread().isInterrupted());
      assertEquals(1, calls.get());
      assertEquals("down", thrown.getSuppressed()[0].getMessage());
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void aFailureWhileInterruptedStopsAtOnceAndKeepsTheFlag() {
    AtomicInteger calls = new AtomicInteger();
    try {
      assertThrows(IOException.class, () -> retry().maxAttempts(5).build().call(() -> {
        calls.incrementAndGet();
        Thread.currentThread().interrupt(); // e.g. a blocking read noticed the interrupt
        throw new IOException("interrupted I/O");
      }));
      assertTrue(Thread.currentThread().isInterrupted());
      assertEquals(1, calls.get());
      assertEquals(List.of(), clock.sleeps());
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void anInterruptDuringTheWaitStopsAtOnceEvenIfTheSleeperOnlyRestoresTheFlag() {
    // The common wrapper "catch InterruptedException, re-set the flag" returns early instead of
    // throwing; going on would make the next attempt at once, with no wait.
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().maxAttempts(5).sleeper(d -> Thread.currentThread().interrupt()).build();
    try {
      InterruptedException thrown = assertThrows(InterruptedException.class, () -> retry.call(() -> {
        calls.incrementAndGet();
        throw new IOException("down");
      }));
      assertTrue(Thread.currentThread().isInterrupted());
      assertEquals(1, calls.get(), "no attempt after the interrupted wait");
      assertEquals("down", thrown.getSuppressed()[0].getMessage());
      assertEquals(Event.Kind.GAVE_UP, events.get(events.size() - 1).kind());
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void aRetriedResultWhileInterruptedStopsAtOnceWhateverTheSleeper() {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().maxAttempts(5).retryOnResult(r -> true).sleeper(d -> { }).build();
    try {
      assertThrows(InterruptedException.class, () -> retry.call(() -> {
        calls.incrementAndGet();
        Thread.currentThread().interrupt();
        return "not yet";
      }));
      assertTrue(Thread.currentThread().isInterrupted());
      assertEquals(1, calls.get());
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void anInterruptedExceptionFromTheActionIsRethrownWithTheFlagSet() {
    try {
      assertThrows(InterruptedException.class, () -> retry().maxAttempts(5).build().call(() -> {
        throw new InterruptedException("stop");
      }));
      assertTrue(Thread.currentThread().isInterrupted());
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void aSeededRetryIsReproducibleAndSeedsMatter() throws Exception {
    assertEquals(waitsWithSeed(42), waitsWithSeed(42));
    assertNotEquals(waitsWithSeed(42), waitsWithSeed(43));
  }

  private List<Duration> waitsWithSeed(long seed) throws Exception {
    ManualClock own = ManualClock.instant();
    Retry retry = Retry.builder().backoff(TestBackoffs.uniform(Duration.ofSeconds(10))).maxAttempts(6)
        .ticker(own).sleeper(own).random(new SplittableRandom(seed)).listener(e -> { }).build();
    for (int call = 0; call < 3; call++) {
      assertThrows(IOException.class, () -> retry.call(() -> {
        throw new IOException("down");
      }));
    }
    return own.sleeps();
  }

  @Test
  void theDefaultBackoffIsFullJitterWithinItsCeiling() {
    Retry retry = Retry.builder().maxAttempts(8).ticker(clock).sleeper(clock).listener(e -> { }).build();
    assertThrows(IOException.class, () -> retry.call(() -> {
      throw new IOException("down");
    }));
    List<Duration> sleeps = clock.sleeps();
    assertEquals(7, sleeps.size());
    for (int n = 1; n <= sleeps.size(); n++) {
      long ceiling = Math.min(10_000_000_000L, 100_000_000L << (n - 1));
      long wait = sleeps.get(n - 1).toNanos();
      assertTrue(wait >= 0 && wait <= ceiling, "retry " + n + " waited " + wait);
    }
  }

  @Test
  void aThrowingListenerDoesNotBreakTheCall() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().listener(e -> {
      throw new IllegalStateException("broken listener");
    }).build();
    assertEquals("ok", retry.call(() -> {
      if (calls.incrementAndGet() < 3) {
        throw new IOException("down");
      }
      return "ok";
    }));
  }

  @Test
  void itComposesAsAPolicy() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Policy composed = Policy.compose(retry().name("outer").build(), retry().name("inner").maxAttempts(1).build());
    assertEquals("outer > inner", composed.name());
    assertEquals("ok", composed.call(() -> {
      if (calls.incrementAndGet() < 3) {
        throw new IOException("down");
      }
      return "ok";
    }));
    assertEquals(3, calls.get());
  }

  @Test
  void badConfigurationFailsAtBuildTimeNamingTheValue() {
    assertEquals("maxAttempts must be at least 1: 0",
        assertThrows(IllegalArgumentException.class, () -> Retry.builder().maxAttempts(0)).getMessage());
    assertEquals("maxElapsed must be positive: PT0S",
        assertThrows(IllegalArgumentException.class, () -> Retry.builder().maxElapsed(Duration.ZERO)).getMessage());
    assertEquals("maxElapsed must be positive: PT-1S",
        assertThrows(IllegalArgumentException.class, () -> Retry.builder().maxElapsed(Duration.ofSeconds(-1))).getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Retry.builder().retryAfterSpread(Double.NaN))
        .getMessage().startsWith("retryAfterSpread must be in"));
    assertThrows(IllegalArgumentException.class, () -> Retry.builder().retryAfterSpread(-0.1));
    assertThrows(IllegalArgumentException.class, () -> Retry.builder().retryAfterSpread(Double.POSITIVE_INFINITY));
    assertEquals("retryAfterMinJitter must be zero or positive: PT-0.001S",
        assertThrows(IllegalArgumentException.class, () -> Retry.builder().retryAfterMinJitter(Duration.ofMillis(-1))).getMessage());
    assertThrows(IllegalArgumentException.class, () -> Retry.builder().maxRetryAfter(Duration.ofSeconds(-5)));
    assertThrows(IllegalArgumentException.class, () -> Retry.builder().name(" "));
    assertThrows(NullPointerException.class, () -> Retry.builder().backoff(null));
    assertThrows(NullPointerException.class, () -> Retry.builder().retryOn(null));
    assertThrows(IllegalArgumentException.class, () -> Retry.of(TestBackoffs.constant(SECOND), -3));
  }

  @Test
  void itDescribesItself() {
    Retry retry = retry().maxAttempts(4).maxElapsed(Duration.ofSeconds(9)).build();
    assertEquals("test", retry.name());
    assertEquals(4, retry.maxAttempts());
    assertEquals(Optional.of(Duration.ofSeconds(9)), retry.maxElapsed());
    assertFalse(Retry.of(TestBackoffs.constant(SECOND), 2).maxElapsed().isPresent());
    assertTrue(retry.toString().contains("maxAttempts=4"));
  }
}
