package dev.shepherd.core;

import java.util.Objects;

/**
 * Receives the {@link Event}s of Shepherd's primitives; every primitive's builder takes one.
 *
 * <p>Listeners are called synchronously on the thread that caused the event, so they must be quick,
 * thread-safe and must not block. A listener that throws does not break the primitive when it is
 * wrapped with {@link #guarded(EventListener)}, which every Shepherd builder does.
 *
 * <p>The default, {@link #logging()}, writes through SLF4J and summarises bursts, so a storm of
 * rejections produces its first line at once and then one line per interval, not one line per
 * rejection. Events are typed ({@link Event}): a listener that feeds metrics reads the fields of
 * each kind, never the human-readable detail.
 */
@FunctionalInterface
public interface EventListener {

  /**
   * Handles one event.
   *
   * @param event what happened
   */
  void onEvent(Event event);

  /**
   * Returns a listener that first calls this one, then {@code next}.
   *
   * @param next the listener to call second
   * @return the combined listener
   * @throws NullPointerException if {@code next} is null
   */
  default EventListener andThen(EventListener next) {
    Objects.requireNonNull(next, "next");
    return event -> {
      onEvent(event);
      next.onEvent(event);
    };
  }

  /**
   * Returns a listener that ignores every event: always the same instance, so that a primitive
   * may compare its listener with it and skip building events nobody will see (Shepherd's rate
   * limiters do, which keeps their rejection path allocation-free).
   *
   * @return the no-op listener
   */
  static EventListener noop() {
    return NoopListener.INSTANCE;
  }

  /**
   * Returns the default listener: the one shared {@link LogSummaryListener}, always the same
   * instance, so that every primitive built with the defaults reports into one summariser. It logs
   * the first event of an incident at once and a summary per source every
   * {@link LogSummaryListener#DEFAULT_INTERVAL}, to the logger {@code shepherd.<source>}; its timer
   * thread starts with its first event. Close it at shutdown to write the last windows at once.
   *
   * @return the shared summarising SLF4J listener
   */
  static LogSummaryListener logging() {
    return LogSummaryListener.shared();
  }

  /**
   * Wraps a listener so that an exception it throws is logged at debug level and swallowed: a
   * broken listener must never break the call it observes.
   *
   * @param listener the listener to protect
   * @return the protected listener ({@code listener} itself if it is already protected, or if it
   *     is {@link #noop()}, which cannot throw)
   * @throws NullPointerException if {@code listener} is null
   */
  static EventListener guarded(EventListener listener) {
    Objects.requireNonNull(listener, "listener");
    if (listener instanceof GuardedListener || listener == NoopListener.INSTANCE) {
      return listener;
    }
    return new GuardedListener(listener);
  }
}
