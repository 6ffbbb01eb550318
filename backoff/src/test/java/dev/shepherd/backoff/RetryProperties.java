package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.shepherd.testing.ManualClock;
import dev.shepherd.core.RejectedException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;

/**
 * Invariants of {@link Retry} over generated schedules, attempt durations, hints and deadlines:
 * attempts never exceed {@code maxAttempts}; the waits of one call never add up to more than
 * {@code maxElapsed} and no attempt starts after the deadline; a wait after a failure with a hint
 * {@code h} is never below {@code h} (clamped) and never above the larger of the backoff delay and
 * {@code h + max(h·spread, minJitter)}.
 */
class RetryProperties {

  private static final long MS = 1_000_000L;

  @Provide
  Arbitrary<List<Long>> delaysMillis() {
    return Arbitraries.longs().between(0, 60_000).list().ofMinSize(1).ofMaxSize(20);
  }

  @Provide
  Arbitrary<List<Optional<Long>>> hintsMillis() {
    Arbitrary<Optional<Long>> hint = Arbitraries.longs().between(0, 200_000).optional(0.5);
    return hint.list().ofMinSize(1).ofMaxSize(20);
  }

  @Property(tries = 300)
  void attemptsNeverExceedMaxAttempts(
      @ForAll @IntRange(min = 1, max = 30) int maxAttempts,
      @ForAll @IntRange(min = 0, max = 60) int failuresBeforeSuccess,
      @ForAll("delaysMillis") List<Long> delays) throws Exception {
    ManualClock clock = ManualClock.instant();
    Retry retry = Retry.builder().maxAttempts(maxAttempts).backoff(TestBackoffs.sequenceNanos(scale(delays)))
        .ticker(clock).sleeper(clock).listener(e -> { }).build();
    AtomicInteger attempts = new AtomicInteger();
    try {
      retry.call(() -> {
        if (attempts.incrementAndGet() <= failuresBeforeSuccess) {
          throw new IOException("down");
        }
        return "ok";
      });
      assertTrue(attempts.get() == failuresBeforeSuccess + 1);
    } catch (IOException expected) {
      assertTrue(attempts.get() == maxAttempts);
    }
    assertTrue(attempts.get() <= maxAttempts, attempts.get() + " > " + maxAttempts);
    assertTrue(attempts.get() == Math.min(failuresBeforeSuccess + 1, maxAttempts));
    assertTrue(clock.sleeps().size() == attempts.get() - 1);
  }

  @Property(tries = 500)
  void waitingNeverExceedsMaxElapsedAndNoAttemptStartsAfterTheDeadline(
      @ForAll @LongRange(min = 1, max = 100_000) long maxElapsedMillis,
      @ForAll @IntRange(min = 1, max = 50) int maxAttempts,
      @ForAll("delaysMillis") List<Long> delays,
      @ForAll @Size(min = 1, max = 10) List<@LongRange(min = 0, max = 20_000) Long> attemptMillis,
      @ForAll("hintsMillis") List<Optional<Long>> hints,
      @ForAll @LongRange(min = -4_000_000_000_000_000_000L, max = 4_000_000_000_000_000_000L) long origin) {
    ManualClock clock = ManualClock.startingAt(origin, false);
    long maxElapsed = maxElapsedMillis * MS;
    Retry retry = Retry.builder().maxAttempts(maxAttempts).maxElapsed(Duration.ofNanos(maxElapsed))
        .backoff(TestBackoffs.sequenceNanos(scale(delays))).maxRetryAfter(Duration.ofMinutes(10))
        .ticker(clock).sleeper(clock).random(new SplittableRandom(origin)).listener(e -> { }).build();
    List<Long> starts = new ArrayList<>();
    try {
      retry.call(() -> {
        int i = starts.size();
        starts.add(clock.read() - origin);
        clock.advanceNanos(attemptMillis.get(i % attemptMillis.size()) * MS);
        Optional<Long> hint = hints.get(i % hints.size());
        if (hint.isPresent()) {
          throw new RejectedException("server", "busy", Duration.ofMillis(hint.get()));
        }
        throw new IOException("down");
      });
      fail("every attempt fails");
    } catch (Exception expected) {
      // the last failure
    }
    long waited = clock.sleeps().stream().mapToLong(Duration::toNanos).sum();
    assertTrue(waited <= maxElapsed, "waited " + waited + " > " + maxElapsed);
    for (long start : starts) {
      assertTrue(start <= maxElapsed, "an attempt started at " + start + " after the deadline " + maxElapsed);
    }
    assertTrue(starts.size() <= maxAttempts);
  }

  @Property(tries = 500)
  void everyWaitAfterAHintIsAtLeastTheHintAndAtMostItsJitterOrTheBackoff(
      @ForAll("hintsMillis") List<Optional<Long>> hints,
      @ForAll("delaysMillis") List<Long> delays,
      @ForAll @LongRange(min = 0, max = 300_000) long maxRetryAfterMillis,
      @ForAll @DoubleRange(min = 0.0, max = 2.0) double spread,
      @ForAll @LongRange(min = 0, max = 5_000) long minJitterMillis,
      @ForAll boolean withDeadline,
      @ForAll long seed) {
    ManualClock clock = ManualClock.instant();
    int maxAttempts = hints.size() + 1;
    Retry.Builder builder = Retry.builder().maxAttempts(maxAttempts)
        .backoff(TestBackoffs.sequenceNanos(scale(delays)))
        .maxRetryAfter(Duration.ofMillis(maxRetryAfterMillis)).retryAfterSpread(spread)
        .retryAfterMinJitter(Duration.ofMillis(minJitterMillis))
        .ticker(clock).sleeper(clock).random(new SplittableRandom(seed)).listener(e -> { });
    if (withDeadline) {
      builder.maxElapsed(Duration.ofMinutes(3));
    }
    Retry retry = builder.build();
    AtomicInteger attempts = new AtomicInteger();
    try {
      retry.call(() -> {
        Optional<Long> hint = hints.get(attempts.getAndIncrement());
        if (hint.isPresent()) {
          throw new RejectedException("server", "busy", Duration.ofMillis(hint.get()));
        }
        throw new IOException("down");
      });
    } catch (Exception expected) {
      // every attempt fails
    }
    List<Duration> sleeps = clock.sleeps();
    for (int i = 0; i < sleeps.size(); i++) {
      long wait = sleeps.get(i).toNanos();
      long backoff = delays.get(Math.min(i, delays.size() - 1)) * MS;
      Optional<Long> hint = hints.get(i);
      if (hint.isPresent()) {
        long h = Math.min(hint.get(), maxRetryAfterMillis) * MS;
        long width = Math.max((long) (h * spread), minJitterMillis * MS);
        assertTrue(wait >= h, "wait " + wait + " below the hint " + h);
        assertTrue(wait <= Math.max(backoff, h + width), "wait " + wait + " above max(" + backoff + ", " + (h + width) + ")");
      } else {
        assertTrue(wait <= backoff, "wait " + wait + " above the backoff delay " + backoff);
      }
    }
  }

  private static List<Long> scale(List<Long> millis) {
    List<Long> nanos = new ArrayList<>(millis.size());
    for (long m : millis) {
      nanos.add(m * MS);
    }
    return nanos;
  }
}
