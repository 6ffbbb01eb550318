package dev.shepherd.bulkhead;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.core.UncheckedCallException;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The unchecked call forms {@code get(Supplier)} and {@code run(Runnable)} on both bulkheads: the
 * same permit, release and rejection rules as {@code call}, and no checked exception.
 */
@Timeout(30)
class CallFormsTest {

  private final ManualClock clock = new ManualClock();

  /** A bulkhead of each kind with one permit, and how to read its in-flight count. */
  private record Subject(Policy policy, IntSupplier inFlight) { }

  private List<Subject> subjects(Duration maxWait) {
    Bulkhead fixed = Bulkhead.builder().name("fixed").maxConcurrent(1).maxWait(maxWait).ticker(clock)
        .listener(EventListener.noop()).build();
    AdaptiveBulkhead adaptive = AdaptiveBulkhead.builder().name("adaptive").minLimit(1).maxLimit(1).initialLimit(1)
        .maxWait(maxWait).ticker(clock).listener(EventListener.noop()).build();
    return List.of(new Subject(fixed, fixed::inFlight), new Subject(adaptive, adaptive::inFlight));
  }

  @AfterEach
  void clearInterrupt() {
    Thread.interrupted();
  }

  @Test
  void getAndRunHoldAPermitWhileTheActionRunsAndReleaseIt() {
    for (Subject s : subjects(Duration.ZERO)) {
      assertEquals(1, (int) s.policy().get(s.inFlight()::getAsInt), s.policy().name());
      AtomicInteger seen = new AtomicInteger(-1);
      s.policy().run(() -> seen.set(s.inFlight().getAsInt()));
      assertEquals(1, seen.get());
      assertEquals(0, s.inFlight().getAsInt());
    }
  }

  @Test
  void whatTheActionThrowsPassesThroughAndThePermitComesBack() {
    for (Subject s : subjects(Duration.ZERO)) {
      IllegalStateException boom = new IllegalStateException("boom");
      assertSame(boom, assertThrows(IllegalStateException.class, () -> s.policy().get(() -> {
        throw boom;
      })));
      assertSame(boom, assertThrows(IllegalStateException.class, () -> s.policy().run(() -> {
        throw boom;
      })));
      assertEquals(0, s.inFlight().getAsInt(), s.policy().name());
    }
  }

  @Test
  void aFullBulkheadRefusesWithoutRunningTheAction() {
    for (Subject s : subjects(Duration.ZERO)) {
      AtomicInteger ran = new AtomicInteger();
      s.policy().run(() -> {
        BulkheadFullException full = assertThrows(BulkheadFullException.class,
            () -> s.policy().get(ran::incrementAndGet));
        assertTrue(full.getMessage().contains(s.policy().name()), full.getMessage());
        assertThrows(BulkheadFullException.class, () -> s.policy().run(ran::incrementAndGet));
      });
      assertEquals(0, ran.get());
      assertEquals(0, s.inFlight().getAsInt());
    }
  }

  @Test
  void anInterruptedWaitIsWrappedUncheckedAndTheInterruptIsKept() {
    for (Subject s : subjects(Duration.ofSeconds(1))) {
      AtomicInteger ran = new AtomicInteger();
      s.policy().run(() -> {
        Thread.currentThread().interrupt(); // it would have to wait: the interrupt refuses at once
        UncheckedCallException thrown = assertThrows(UncheckedCallException.class,
            () -> s.policy().get(ran::incrementAndGet));
        assertInstanceOf(InterruptedException.class, thrown.getCause());
        assertTrue(Thread.interrupted(), "the interrupt status is set again, then cleared here");
        Thread.currentThread().interrupt();
        assertInstanceOf(InterruptedException.class,
            assertThrows(UncheckedCallException.class, () -> s.policy().run(ran::incrementAndGet)).getCause());
        assertTrue(Thread.interrupted());
      });
      assertEquals(0, ran.get());
      assertEquals(0, s.inFlight().getAsInt(), "the interrupted callers hold nothing");
    }
  }

  @Test
  void anAdaptiveBulkheadLearnsFromGetAndRunAsFromCall() {
    AdaptiveBulkhead b = AdaptiveBulkhead.builder().name("partner").initialLimit(20).ticker(clock)
        .dropWhen(t -> t instanceof IllegalStateException).listener(EventListener.noop()).build();
    assertThrows(IllegalStateException.class, () -> b.get(() -> {
      throw new IllegalStateException("upstream dropped it");
    }));
    assertEquals(18, b.limit(), "a drop multiplies the limit by 0.9");
    assertThrows(IllegalStateException.class, () -> b.run(() -> {
      throw new IllegalStateException("again");
    }));
    assertEquals(16, b.limit());
    assertThrows(IllegalArgumentException.class, () -> b.run(() -> {
      throw new IllegalArgumentException("not a drop");
    }));
    assertEquals(16, b.limit(), "an ignored failure changes nothing");
    assertFalse(b.inFlight() > 0);
  }
}
