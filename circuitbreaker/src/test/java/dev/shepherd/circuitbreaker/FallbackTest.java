package dev.shepherd.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.core.RejectedException;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class FallbackTest {

  private final List<Event> events = new CopyOnWriteArrayList<>();

  @Test
  void answersFromTheFallbackForHandledFailuresOnly() throws Exception {
    Fallback<String> local = Fallback.<String>builder((result, failure) -> "from hub")
        .name("hub").handle(IOException.class).listener(events::add).build();
    assertEquals("from cloud", local.answer(() -> "from cloud"));
    IOException down = new IOException("cloud down");
    assertEquals("from hub", local.answer(() -> {
      throw down;
    }));
    assertThrows(IllegalStateException.class, () -> local.answer(() -> {
      throw new IllegalStateException("a bug, not an outage");
    }));
    assertEquals(1, local.fallbacks());
    assertEquals(Event.Kind.FALLBACK, events.get(0).kind());
    assertSame(down, events.get(0).cause());
  }

  @Test
  void handlesEveryRefusalOfThePoliciesInside() throws Exception {
    CircuitBreaker breaker = CircuitBreaker.builder().listener(EventListener.noop()).build();
    breaker.forceOpen();
    Fallback<String> local = Fallback.<String>builder((result, failure) -> "from hub")
        .handle(RejectedException.class).listener(EventListener.noop()).build();
    assertEquals("from hub", Policy.compose(local, breaker).call(() -> "from cloud"));
  }

  @Test
  void byDefaultHandlesExceptionsButNeverErrorsOrInterrupts() {
    Fallback<String> any = Fallback.of("any", () -> "fallback");
    assertThrows(InterruptedException.class, () -> any.answer(() -> {
      throw new InterruptedException();
    }));
    assertThrows(StackOverflowError.class, () -> any.answer(() -> {
      throw new StackOverflowError();
    }));
    assertEquals(0, any.fallbacks());
  }

  @Test
  void handlesResultsAndPassesThemToTheFallback() throws Exception {
    Fallback<Integer> positive = Fallback.<Integer>builder((result, failure) -> result == null ? 0 : -result)
        .handleResult(r -> r == null || r < 0).listener(EventListener.noop()).build();
    assertEquals(5, positive.answer(() -> -5));
    assertEquals(0, positive.answer(() -> null));
    assertEquals(7, positive.answer(() -> 7));
  }

  @Test
  void aFailingFallbackThrowsWithTheOriginalFailureSuppressed() {
    IOException cloud = new IOException("cloud down");
    Fallback<String> broken = Fallback.<String>builder((result, failure) -> {
      throw new IOException("hub unreachable too");
    }).listener(EventListener.noop()).build();
    IOException e = assertThrows(IOException.class, () -> broken.answer(() -> {
      throw cloud;
    }));
    assertEquals("hub unreachable too", e.getMessage());
    assertArrayEquals(new Throwable[] {cloud}, e.getSuppressed());
  }

  @Test
  void theAsyncFormJudgesTheCauseOfTheStagesFailure() throws Exception {
    Fallback<String> local = Fallback.<String>builder((result, failure) -> "from hub")
        .handleIf(t -> t instanceof TimeoutExceededException).listener(EventListener.noop()).build();
    CompletableFuture<String> slow = new CompletableFuture<>();
    CompletableFuture<String> answer = local.answerAsync(() -> slow.thenApply(s -> s)).toCompletableFuture();
    slow.completeExceptionally(new TimeoutExceededException("cloud", Duration.ofSeconds(2).toNanos(), null));
    assertEquals("from hub", answer.get());
    CompletableFuture<String> unhandled = local.answerAsync(
        () -> CompletableFuture.<String>failedFuture(new IOException("not handled"))).toCompletableFuture();
    ExecutionException e = assertThrows(ExecutionException.class, unhandled::get);
    assertEquals("not handled", e.getCause().getMessage());
  }

  @Test
  void aBlankNameIsRefused() {
    CircuitBreakerTest.assertMessage("name must be non-blank: \"\"", () -> Fallback.of("", () -> "x"));
  }
}
