package dev.shepherd.core;

import dev.shepherd.core.internal.Durations;

import dev.shepherd.core.internal.Checks;

import java.time.Duration;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link EventListener} that logs through SLF4J and summarises bursts: at most one line per
 * interval, with a count per source and kind, so a storm of rejections cannot flood a log.
 *
 * <p>A window opens with the first event and lasts {@link Builder#interval(Duration) interval}.
 * Events inside it are only counted. The first event at or after the window's end writes one line
 * for the whole window, for example
 * <pre>
 * shepherd: 12873 events in 1.000 s: 'connect' REJECTED x12850, 'db' LIMIT_CHANGED x23
 * </pre>
 * and opens the next window. {@link #flush()} writes the open window at once (call it at shutdown).
 * The line is at WARN level when the window holds a rejection, failure, give-up or fallback, and at
 * INFO otherwise.
 *
 * <p>Thread-safe and lock-free: counting is a {@link LongAdder} increment; exactly one thread (the
 * one whose compare-and-set closes the window) writes the line. An event racing with that thread may
 * be counted in the next window instead; none is lost.
 */
public final class LogSummaryListener implements EventListener {

  /** The interval {@link EventListener#logging()} uses: ten seconds. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);

  private static final long NO_WINDOW = Long.MIN_VALUE;
  private static final Set<Event.Kind> WARN_KINDS =
      EnumSet.of(Event.Kind.REJECTED, Event.Kind.FAILED, Event.Kind.GAVE_UP, Event.Kind.FALLBACK);

  private final Logger logger;
  private final Ticker ticker;
  private final long intervalNanos;
  private final ConcurrentHashMap<Key, LongAdder> counts = new ConcurrentHashMap<>();
  private final AtomicLong windowStart = new AtomicLong(NO_WINDOW);

  private LogSummaryListener(Builder builder) {
    this.logger = builder.logger;
    this.ticker = builder.ticker;
    this.intervalNanos = Durations.toNanosSaturated(builder.interval);
  }

  /**
   * Returns a builder with the defaults: logger {@code dev.shepherd}, the system ticker and
   * {@link #DEFAULT_INTERVAL}.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public void onEvent(Event event) {
    long now = ticker.read();
    long start = windowStart.get();
    if (start == NO_WINDOW) {
      windowStart.compareAndSet(NO_WINDOW, now);
    } else if (now - start >= intervalNanos && windowStart.compareAndSet(start, now)) {
      write(now - start);
    }
    counts.computeIfAbsent(new Key(event.source(), event.kind()), k -> new LongAdder()).increment();
  }

  /** Writes the open window's line now, if it counted anything, and closes the window. */
  public void flush() {
    long start = windowStart.get();
    if (start != NO_WINDOW && windowStart.compareAndSet(start, NO_WINDOW)) {
      write(ticker.read() - start);
    }
  }

  private void write(long windowNanos) {
    Map<Key, Long> snapshot = new TreeMap<>();
    long total = 0;
    boolean warn = false;
    for (Map.Entry<Key, LongAdder> entry : counts.entrySet()) {
      long n = entry.getValue().sumThenReset();
      if (n > 0) {
        snapshot.put(entry.getKey(), n);
        total += n;
        warn |= WARN_KINDS.contains(entry.getKey().kind);
      }
    }
    if (total == 0) {
      return;
    }
    StringBuilder line = new StringBuilder(64 + 32 * snapshot.size());
    line.append(String.format(Locale.ROOT, "shepherd: %d events in %.3f s:", total, windowNanos / 1e9));
    String separator = " ";
    for (Map.Entry<Key, Long> entry : snapshot.entrySet()) {
      line.append(separator).append('\'').append(entry.getKey().source).append("' ")
          .append(entry.getKey().kind).append(" x").append(entry.getValue());
      separator = ", ";
    }
    if (warn) {
      logger.warn(line.toString());
    } else {
      logger.info(line.toString());
    }
  }

  @Override
  public String toString() {
    return "LogSummaryListener{logger=" + logger.getName() + ", interval=" + Duration.ofNanos(intervalNanos) + "}";
  }

  private static final class Key implements Comparable<Key> {
    final String source;
    final Event.Kind kind;

    Key(String source, Event.Kind kind) {
      this.source = source;
      this.kind = kind;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key && ((Key) o).source.equals(source) && ((Key) o).kind == kind;
    }

    @Override
    public int hashCode() {
      return source.hashCode() * 31 + kind.hashCode();
    }

    @Override
    public int compareTo(Key other) {
      int bySource = source.compareTo(other.source);
      return bySource != 0 ? bySource : kind.compareTo(other.kind);
    }
  }

  /** Builds a {@link LogSummaryListener}; not thread-safe, validates in {@link #build()}. */
  public static final class Builder {
    private Logger logger = LoggerFactory.getLogger("dev.shepherd");
    private Ticker ticker = Ticker.system();
    private Duration interval = DEFAULT_INTERVAL;

    private Builder() {}

    /**
     * Sets the logger lines are written to.
     *
     * @param logger the SLF4J logger
     * @return this builder
     */
    public Builder logger(Logger logger) {
      this.logger = Objects.requireNonNull(logger, "logger");
      return this;
    }

    /**
     * Sets the ticker that measures the interval.
     *
     * @param ticker the time source
     * @return this builder
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets the shortest time between two lines.
     *
     * @param interval a positive duration
     * @return this builder
     * @throws IllegalArgumentException if {@code interval} is zero or negative
     */
    public Builder interval(Duration interval) {
      this.interval = Checks.positive(interval, "interval");
      return this;
    }

    /**
     * Builds the listener.
     *
     * @return a new listener with an empty window
     */
    public LogSummaryListener build() {
      return new LogSummaryListener(this);
    }
  }
}
