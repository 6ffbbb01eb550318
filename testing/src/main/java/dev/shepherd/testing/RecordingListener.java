package dev.shepherd.testing;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * An {@link EventListener} that keeps every {@link Event} it receives, in arrival order, for tests
 * to assert on.
 *
 * <pre>{@code
 * RecordingListener events = new RecordingListener();
 * Retry retry = Retry.builder().name("fetch").listener(events).build();
 * // ... run the code under test, then:
 * assertEquals(List.of(Event.Kind.RETRY, Event.Kind.SUCCEEDED), events.kinds());
 * assertEquals(1, events.count(Event.Kind.RETRY));
 * }</pre>
 *
 * <p>Thread-safe: events may arrive from any number of threads at once; every query returns an
 * immutable snapshot, and {@link #await(Predicate, int, Duration)} lets a test wait for events that
 * another thread will report. It keeps everything until {@link #clear()}, so it is meant for tests,
 * not for long-running production use. Recording takes a {@link ReentrantLock}, never
 * {@code synchronized}, so a virtual thread reporting an event does not pin its carrier.
 */
public final class RecordingListener implements EventListener {

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition arrived = lock.newCondition();
  private final List<Event> events = new ArrayList<>();

  /** Creates a listener that has recorded nothing yet. */
  public RecordingListener() {
  }

  /**
   * Records {@code event}.
   *
   * @param event what happened
   * @throws NullPointerException if {@code event} is null
   */
  @Override
  public void onEvent(Event event) {
    Objects.requireNonNull(event, "event");
    lock.lock();
    try {
      events.add(event);
      arrived.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns every event recorded so far, in arrival order.
   *
   * @return an immutable snapshot
   */
  public List<Event> events() {
    lock.lock();
    try {
      return List.copyOf(events);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the recorded events of one kind, in arrival order.
   *
   * @param kind the kind to keep
   * @return an immutable snapshot
   * @throws NullPointerException if {@code kind} is null
   */
  public List<Event> events(Event.Kind kind) {
    Objects.requireNonNull(kind, "kind");
    return matching(e -> e.kind() == kind);
  }

  /**
   * Returns the recorded events of one source (the name of the policy that emitted them), in
   * arrival order.
   *
   * @param source the policy name to keep
   * @return an immutable snapshot
   * @throws NullPointerException if {@code source} is null
   */
  public List<Event> events(String source) {
    Objects.requireNonNull(source, "source");
    return matching(e -> e.source().equals(source));
  }

  /**
   * Returns the recorded events that satisfy {@code filter}, in arrival order.
   *
   * @param filter which events to keep
   * @return an immutable snapshot
   * @throws NullPointerException if {@code filter} is null
   */
  public List<Event> matching(Predicate<? super Event> filter) {
    Objects.requireNonNull(filter, "filter");
    return events().stream().filter(filter).collect(Collectors.toUnmodifiableList());
  }

  /**
   * Returns the kinds of the recorded events, in arrival order: the shortest way to assert a
   * sequence such as {@code List.of(RETRY, RETRY, GAVE_UP)}.
   *
   * @return an immutable snapshot
   */
  public List<Event.Kind> kinds() {
    return events().stream().map(Event::kind).collect(Collectors.toUnmodifiableList());
  }

  /**
   * Returns how many events of {@code kind} were recorded.
   *
   * @param kind the kind to count
   * @return the count
   * @throws NullPointerException if {@code kind} is null
   */
  public int count(Event.Kind kind) {
    return events(kind).size();
  }

  /**
   * Returns the last event recorded, if any.
   *
   * @return the most recent event, or empty
   */
  public Optional<Event> last() {
    lock.lock();
    try {
      return events.isEmpty() ? Optional.empty() : Optional.of(events.get(events.size() - 1));
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits, in real time, until at least {@code count} recorded events satisfy {@code filter}: for
   * events reported by other threads (an asynchronous completion, a background refresh).
   *
   * @param filter which events count
   * @param count how many are needed, zero or more
   * @param timeout the longest real time to wait, zero or positive
   * @return {@code true} once that many events are recorded, {@code false} on timeout
   * @throws InterruptedException if the waiting thread is interrupted
   * @throws IllegalArgumentException if {@code count} or {@code timeout} is negative
   * @throws NullPointerException if {@code filter} or {@code timeout} is null
   */
  public boolean await(Predicate<? super Event> filter, int count, Duration timeout) throws InterruptedException {
    Objects.requireNonNull(filter, "filter");
    Checks.atLeast(count, 0, "count");
    long remaining = Durations.toNanosSaturated(Checks.nonNegative(timeout, "timeout"));
    lock.lockInterruptibly();
    try {
      while (events.stream().filter(filter).count() < count) {
        if (remaining <= 0) {
          return false;
        }
        remaining = arrived.awaitNanos(remaining);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** Forgets every recorded event, so the next assertion sees only new ones. */
  public void clear() {
    lock.lock();
    try {
      events.clear();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "RecordingListener" + kinds();
  }
}
