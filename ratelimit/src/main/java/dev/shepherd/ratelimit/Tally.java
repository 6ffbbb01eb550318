package dev.shepherd.ratelimit;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import java.time.Duration;
import java.util.Locale;

/**
 * A limiter's name, counters and listener: what every decision reports, whatever decided it. One
 * per limiter; it outlives the {@link Gcra} of a bucket whose rate changes. Thread-safe.
 */
final class Tally {

  /** The lanes of {@link #counts}: grants and refusals. */
  private static final int GRANTED = 0;
  private static final int REJECTED = 1;
  private static final int LANES = 2;

  final String name;
  final EventListener listener;
  private final StripedCounters counts = new StripedCounters(LANES);

  /** {@code listener} is used as given: callers pass it already guarded. */
  Tally(String name, EventListener listener) {
    this.name = name;
    this.listener = listener;
  }

  /** Tallies builders' listeners: the given one guarded, or the default logging one. */
  static EventListener guarded(EventListener listener) {
    return EventListener.guarded(listener == null ? EventListener.logging() : listener);
  }

  void grant() {
    counts.increment(GRANTED);
  }

  /** Counts a refusal and reports it (building no event for the no-op listener); returns the wait. */
  long reject(long retryAfterNanos, int permits, String what) {
    counts.increment(REJECTED);
    if (listener != EventListener.noop()) { // nobody to tell: build no event, allocate nothing
      String detail = permits == 1 ? what : String.format(Locale.ROOT, "%s (%d permits)", what, permits);
      listener.onEvent(Event.rejected(name, Duration.ofNanos(retryAfterNanos), permits, detail, null));
    }
    return retryAfterNanos;
  }

  long grantedCount() {
    return counts.sum(GRANTED);
  }

  long rejectedCount() {
    return counts.sum(REJECTED);
  }
}
