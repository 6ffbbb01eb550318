package dev.shepherd.bulkhead;

import static org.junit.jupiter.api.Assertions.fail;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/** Helpers shared by this package's tests. */
final class TestSupport {

  /** The longest real time a test waits for another thread to reach a state: generous, never hit. */
  static final Duration PATIENCE = Duration.ofSeconds(20);

  private TestSupport() {}

  /** Waits, in real time, until {@code condition} holds; fails the test after {@link #PATIENCE}. */
  static void awaitTrue(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("timed out waiting until " + what);
      }
      Thread.onSpinWait();
      Thread.yield();
    }
  }

  /** A listener that records every event. */
  static final class RecordingListener implements EventListener {
    final List<Event> events = new CopyOnWriteArrayList<>();

    @Override
    public void onEvent(Event event) {
      events.add(event);
    }

    long count(Event.Kind kind) {
      return events.stream().filter(e -> e.kind() == kind).count();
    }
  }

  /** A thread blocked in an acquisition, and what the acquisition gave it. */
  static final class Waiter {
    final Thread thread;
    final AtomicReference<Object> outcome = new AtomicReference<>();

    /** Starts a daemon thread running {@code acquisition}; its result or exception is recorded. */
    Waiter(String name, ThrowingSupplier acquisition) {
      thread = new Thread(() -> {
        try {
          outcome.set(acquisition.get());
        } catch (Throwable t) {
          outcome.set(t);
        }
      }, name);
      thread.setDaemon(true);
      thread.start();
    }

    /** Joins the thread (bounded) and returns what the acquisition produced. */
    Object join() throws InterruptedException {
      thread.join(PATIENCE.toMillis());
      if (thread.isAlive()) {
        fail(thread.getName() + " still blocked after " + PATIENCE);
      }
      return outcome.get();
    }

    boolean isDone() {
      return !thread.isAlive();
    }
  }

  /** Something that produces a value and may throw anything. */
  @FunctionalInterface
  interface ThrowingSupplier {
    Object get() throws Exception;
  }

  static long millis(long n) {
    return TimeUnit.MILLISECONDS.toNanos(n);
  }
}
