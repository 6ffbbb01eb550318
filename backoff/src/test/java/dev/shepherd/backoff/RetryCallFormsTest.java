package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.core.UncheckedCallException;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.testing.RecordingListener;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code Retry.get(Supplier)} and {@code Retry.run(Runnable)}: the retry of {@code call}, unchecked. */
class RetryCallFormsTest {

  private final ManualClock clock = ManualClock.instant();
  private final RecordingListener events = new RecordingListener();

  private Retry.Builder retry() {
    return Retry.builder().name("fetch").backoff(TestBackoffs.constant(Duration.ofSeconds(1)))
        .ticker(clock).sleeper(clock).random(new SplittableRandom(1)).listener(events);
  }

  @AfterEach
  void clearInterrupt() {
    Thread.interrupted();
  }

  @Test
  void getRetriesUncheckedFailuresUntilTheActionSucceeds() {
    AtomicInteger calls = new AtomicInteger();
    String body = retry().maxAttempts(5).build().get(() -> {
      if (calls.incrementAndGet() < 3) {
        throw new UncheckedIOException(new IOException("down " + calls.get()));
      }
      return "up";
    });
    assertEquals("up", body);
    assertEquals(3, calls.get());
    assertEquals(List.of(Duration.ofSeconds(1), Duration.ofSeconds(1)), clock.sleeps());
    assertEquals(List.of(Event.Kind.RETRY, Event.Kind.RETRY, Event.Kind.SUCCEEDED), events.kinds());
  }

  @Test
  void runRetriesTooAndTheLastFailureComesOutAsItIs() {
    AtomicInteger calls = new AtomicInteger();
    IllegalStateException last = assertThrows(IllegalStateException.class,
        () -> retry().maxAttempts(3).build().run(() -> {
          throw new IllegalStateException("failure " + calls.incrementAndGet());
        }));
    assertEquals("failure 3", last.getMessage());
    assertEquals(2, last.getSuppressed().length, "the earlier failures ride along, as with call");
    assertEquals(Event.Kind.GAVE_UP, events.last().orElseThrow().kind());
  }

  @Test
  void anInterruptBetweenAttemptsIsWrappedUncheckedAndKept() {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().maxAttempts(5).sleeper(d -> {
      throw new InterruptedException("shutting down");
    }).build();
    UncheckedCallException thrown = assertThrows(UncheckedCallException.class, () -> retry.get(() -> {
      calls.incrementAndGet();
      throw new IllegalStateException("down");
    }));
    InterruptedException cause = assertInstanceOf(InterruptedException.class, thrown.getCause());
    assertEquals("shutting down", cause.getMessage());
    assertTrue(Thread.interrupted(), "the thread stays interrupted");
    assertEquals(1, calls.get(), "no attempt after the interrupt");
    assertTrue(thrown.getMessage().startsWith("policy 'fetch' ended with a checked exception"), thrown.getMessage());
  }
}
