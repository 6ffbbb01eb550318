package dev.shepherd.core;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link EventListener} that logs through SLF4J and summarises bursts: the first event of an
 * incident is written at once, the rest as one summary line per interval, and the last window of
 * an incident is written on a timer even if nothing follows it.
 *
 * <p><b>Per source.</b> Each primitive instance (an event's {@link Event#source() source}) has its
 * own window and logs to its own logger, {@code shepherd.<source>} (for example
 * {@code shepherd.connect}), so operators set levels per instance, or for all of Shepherd on
 * {@code shepherd}. {@link Builder#logger(Logger)} sends every line to one logger instead.
 *
 * <p><b>The lines.</b>
 * <ul>
 *   <li>The first event from a quiet source is written immediately, in full:
 *       <pre>'connect' REJECTED: rate limit exceeded; retry-after 0.200 s</pre>
 *       It opens a window of {@link Builder#interval(Duration) interval}.
 *   <li>Events inside the window are only counted. When the window is over, one line sums it up
 *       and the next window opens:
 *       <pre>'connect': 12873 more events in 10.000 s: REJECTED x12850 (retry-after 0.001-1.200 s),
 *     LIMIT_CHANGED x23 (limit 20 -&gt; 4); first cause: java.net.ConnectException: Connection refused</pre>
 *   <li>A window that ends with nothing counted is not written; the source is quiet again, and its
 *       next event is again written at once.
 * </ul>
 * A line is at WARN level if it holds a rejection, failure, give-up or fallback, else at INFO. A
 * line names its source and carries the first cause seen in its window as the exception's class
 * and message (line breaks removed, at most 200 characters), never its stack trace or its own
 * causes. Shepherd's primitives put no secret in details or in the messages of the exceptions they
 * create (see {@link Event}); the message of an exception thrown by <em>your</em> code is logged as
 * it is.
 *
 * <p><b>The timer.</b> A window is closed by the first event after its end, or by a timer that
 * looks at every window once per {@code min(interval, 1 s)}: the summary of an incident's last
 * window is written at most one interval plus one second after the window opened, even if no event
 * ever follows. The timer is a task on a {@link ScheduledExecutorService}: by default on one daemon
 * thread ({@code shepherd-log-summary}) shared by every summariser of the JVM, started when the first
 * of them sees its first event and stopped when the last of them is {@linkplain #close() closed};
 * {@link Builder#scheduler(ScheduledExecutorService)} supplies another (tests pass a manual one).
 *
 * <p><b>Thread-safe and lock-free</b> on the event path: counting is a few {@link LongAdder}-like
 * increments on the source's window; exactly one thread (the one whose compare-and-set closes the
 * window) writes its line. An event racing with that thread may be counted in the next window
 * instead; none is lost.
 */
public final class LogSummaryListener implements EventListener, AutoCloseable {

  /** The interval {@link EventListener#logging()} uses: ten seconds. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);

  /** The longest time between two looks of the timer at the open windows: one second. */
  static final long MAX_TICK_NANOS = TimeUnit.SECONDS.toNanos(1);

  private static final int MAX_CAUSE_CHARS = 200;

  private final Logger fixedLogger;
  private final Function<String, Logger> loggers;
  private final Ticker ticker;
  private final long intervalNanos;
  private final ScheduledExecutorService scheduler;
  private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();
  private final ReentrantLock timerLock = new ReentrantLock();
  /** The timer task while armed, else null; written under {@code timerLock}. */
  private volatile ScheduledFuture<?> timer;

  private LogSummaryListener(Builder builder) {
    this.fixedLogger = builder.logger;
    this.loggers = builder.loggers;
    this.ticker = builder.ticker;
    this.intervalNanos = Durations.toNanosSaturated(builder.interval);
    this.scheduler = builder.scheduler;
  }

  /**
   * Returns a builder with the defaults: a logger per source ({@code shepherd.<source>}), the system
   * ticker, {@link #DEFAULT_INTERVAL} and the shared timer thread.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /** The one default summariser of {@link EventListener#logging()}, created on first use. */
  static LogSummaryListener shared() {
    return Shared.INSTANCE;
  }

  @Override
  public void onEvent(Event event) {
    if (timer == null) {
      arm();
    }
    Window w = windows.get(event.source());
    if (w == null) {
      w = windows.computeIfAbsent(event.source(), this::newWindow);
    }
    long now = ticker.read();
    for (;;) {
      long start = w.start.get();
      if (start == Window.QUIET) {
        if (w.start.compareAndSet(Window.QUIET, now)) {
          writeFirst(w.logger, event);
          return;
        }
      } else if (now - start >= intervalNanos) {
        if (w.start.compareAndSet(start, now)) {
          if (!w.writeSummary(now - start)) {
            writeFirst(w.logger, event); // the window was empty: a quiet interval just ended
            return;
          }
          break;
        }
      } else {
        break;
      }
    }
    w.count(event);
  }

  /**
   * Writes every open window's summary now and marks every source quiet (call it at shutdown, or
   * before reading a log in a test). Events counted concurrently may land in the next window.
   */
  public void flush() {
    long now = ticker.read();
    for (Window w : windows.values()) {
      long start = w.start.get();
      if (start != Window.QUIET && w.start.compareAndSet(start, Window.QUIET)) {
        w.writeSummary(now - start);
      } else if (start == Window.QUIET) {
        w.writeSummary(0); // counts that raced with the window's end
      }
    }
  }

  /**
   * Writes every open window ({@link #flush()}) and stops this summariser's timer; the shared timer
   * thread ends when no summariser uses it any more. Idempotent. An event that arrives later is
   * still logged, and starts the timer again.
   */
  @Override
  public void close() {
    ScheduledFuture<?> task;
    timerLock.lock();
    try {
      task = timer;
      timer = null;
      if (task != null) {
        task.cancel(false);
        if (scheduler == null) {
          SharedTimer.release();
        }
      }
    } finally {
      timerLock.unlock();
    }
    flush();
  }

  /** Looks at every window once: writes those whose interval is over. Called by the timer. */
  void tick() {
    long now = ticker.read();
    for (Window w : windows.values()) {
      long start = w.start.get();
      if (start == Window.QUIET) {
        w.writeSummary(0); // counts that raced with the window's end; nothing if none
      } else if (now - start >= intervalNanos) {
        // an empty window ends the incident: the source goes quiet; a full one starts the next window
        long next = w.total() > 0 ? now : Window.QUIET;
        if (w.start.compareAndSet(start, next)) {
          w.writeSummary(now - start);
        }
      }
    }
  }

  private void arm() {
    timerLock.lock(); // only when the timer is off: once per start, never per event
    try {
      if (timer != null) {
        return;
      }
      long period = Math.min(intervalNanos, MAX_TICK_NANOS);
      ScheduledExecutorService executor = scheduler != null ? scheduler : SharedTimer.acquire();
      try {
        timer = executor.scheduleAtFixedRate(this::safeTick, period, period, TimeUnit.NANOSECONDS);
      } catch (RuntimeException e) {
        if (scheduler == null) {
          SharedTimer.release();
        }
        throw e;
      }
    } finally {
      timerLock.unlock();
    }
  }

  private void safeTick() {
    try {
      tick();
    } catch (RuntimeException e) {
      // a throwing logger must not cancel the periodic task: the next tick tries again
      LoggerFactory.getLogger(LogSummaryListener.class).debug("log summary tick failed", e);
    }
  }

  private Window newWindow(String source) {
    return new Window(source, fixedLogger != null ? fixedLogger : loggers.apply("shepherd." + source));
  }

  private static void writeFirst(Logger logger, Event e) {
    boolean warn = isWarn(e.kind());
    if (warn ? !logger.isWarnEnabled() : !logger.isInfoEnabled()) {
      return;
    }
    StringBuilder line = new StringBuilder(96);
    line.append('\'').append(e.source()).append("' ").append(e.kind());
    if (!e.detail().isEmpty()) {
      line.append(": ").append(oneLine(e.detail()));
    }
    if (!e.delay().isZero()) {
      line.append(e.kind() == Event.Kind.REJECTED ? "; retry-after " : "; delay ").append(seconds(e.delay().toNanos()));
    }
    if (e.cause() != null) {
      line.append("; cause: ").append(describe(e.cause()));
    }
    write(logger, warn, line.toString());
  }

  private static void write(Logger logger, boolean warn, String line) {
    if (warn) {
      logger.warn(line);
    } else {
      logger.info(line);
    }
  }

  static boolean isWarn(Event.Kind kind) {
    return kind == Event.Kind.REJECTED || kind == Event.Kind.FAILED || kind == Event.Kind.GAVE_UP
        || kind == Event.Kind.FALLBACK;
  }

  /** The exception's class and message on one line, never its stack trace or its causes. */
  static String describe(Throwable t) {
    String message = t.getMessage();
    String text = message == null ? t.getClass().getName() : t.getClass().getName() + ": " + oneLine(message);
    return text.length() <= MAX_CAUSE_CHARS ? text : text.substring(0, MAX_CAUSE_CHARS - 3) + "...";
  }

  private static String oneLine(String text) {
    return text.replaceAll("[\\r\\n\\t]+", " ");
  }

  private static String seconds(long nanos) {
    return String.format(Locale.ROOT, "%.3f s", nanos / 1e9);
  }

  @Override
  public String toString() {
    return "LogSummaryListener{logger=" + (fixedLogger == null ? "shepherd.<source>" : fixedLogger.getName())
        + ", interval=" + Duration.ofNanos(intervalNanos) + "}";
  }

  /**
   * One source's window. {@code start} is the ticker reading at which the open window began, or
   * {@link #QUIET}. The aggregates are reset by the thread that writes the summary; a concurrent
   * event may be reported in the next line instead (this race is benign: nothing is lost).
   */
  private static final class Window {
    static final long QUIET = Long.MIN_VALUE;
    private static final Event.Kind[] KINDS = Event.Kind.values();

    final String source;
    final Logger logger;
    final AtomicLong start = new AtomicLong(QUIET);
    final LongAdder[] counts = new LongAdder[KINDS.length];
    final AtomicReference<Throwable> firstCause = new AtomicReference<>();
    final LongAccumulator minDelay = new LongAccumulator(Math::min, Long.MAX_VALUE);
    final LongAccumulator maxDelay = new LongAccumulator(Math::max, Long.MIN_VALUE);
    final AtomicReference<Event> firstLimit = new AtomicReference<>();
    final AtomicReference<Event> lastLimit = new AtomicReference<>();
    final AtomicReference<Event> lastState = new AtomicReference<>();

    Window(String source, Logger logger) {
      this.source = source;
      this.logger = logger;
      for (int i = 0; i < counts.length; i++) {
        counts[i] = new LongAdder();
      }
    }

    void count(Event e) {
      counts[e.kind().ordinal()].increment();
      if (e.cause() != null && firstCause.get() == null) {
        firstCause.compareAndSet(null, e.cause());
      }
      long delay = e.delay().toNanos();
      if (delay > 0) {
        minDelay.accumulate(delay);
        maxDelay.accumulate(delay);
      }
      if (e.kind() == Event.Kind.LIMIT_CHANGED) {
        firstLimit.compareAndSet(null, e);
        lastLimit.set(e);
      } else if (e.kind() == Event.Kind.STATE_CHANGED) {
        lastState.set(e);
      }
    }

    long total() {
      long total = 0;
      for (LongAdder count : counts) {
        total += count.sum();
      }
      return total;
    }

    /** Writes and resets the window's aggregates; returns false (writing nothing) if it counted nothing. */
    boolean writeSummary(long windowNanos) {
      long[] n = new long[counts.length];
      long total = 0;
      boolean warn = false;
      for (int i = 0; i < n.length; i++) {
        n[i] = counts[i].sumThenReset();
        total += n[i];
        warn |= n[i] > 0 && isWarn(KINDS[i]);
      }
      Throwable cause = firstCause.getAndSet(null);
      long min = minDelay.getThenReset();
      long max = maxDelay.getThenReset();
      Event limitFrom = firstLimit.getAndSet(null);
      Event limitTo = lastLimit.getAndSet(null);
      Event state = lastState.getAndSet(null);
      if (total == 0) {
        return false;
      }
      if (warn ? !logger.isWarnEnabled() : !logger.isInfoEnabled()) {
        return true;
      }
      StringBuilder line = new StringBuilder(96 + 32 * n.length);
      line.append('\'').append(source).append("': ").append(total)
          .append(total == 1 ? " more event in " : " more events in ").append(seconds(windowNanos)).append(':');
      String separator = " ";
      for (int i = 0; i < n.length; i++) {
        if (n[i] == 0) {
          continue;
        }
        Event.Kind kind = KINDS[i];
        line.append(separator).append(kind).append(" x").append(n[i]);
        separator = ", ";
        if ((kind == Event.Kind.REJECTED || kind == Event.Kind.RETRY) && max > 0) {
          line.append(kind == Event.Kind.REJECTED ? " (retry-after " : " (delay ")
              .append(String.format(Locale.ROOT, "%.3f-%.3f s)", min / 1e9, max / 1e9));
        } else if (kind == Event.Kind.LIMIT_CHANGED && limitFrom != null && limitTo != null) {
          line.append(" (limit ").append(limitFrom.limitBefore()).append(" -> ").append(limitTo.limitAfter())
              .append(')');
        } else if (kind == Event.Kind.STATE_CHANGED && state != null) {
          line.append(" (now ").append(state.state() != null ? state.state().name() : oneLine(state.detail()))
              .append(')');
        }
      }
      if (cause != null) {
        line.append("; first cause: ").append(describe(cause));
      }
      write(logger, warn, line.toString());
      return true;
    }
  }

  /** The lazily created default summariser of {@link EventListener#logging()}. */
  private static final class Shared {
    static final LogSummaryListener INSTANCE = builder().build();
  }

  /**
   * The daemon thread shared by every summariser without a scheduler of its own: started by the
   * first one to arm its timer, shut down when the last one closes.
   */
  static final class SharedTimer {
    // A lock, not synchronized: library code never holds a monitor (virtual threads on Java 21-23).
    private static final ReentrantLock LOCK = new ReentrantLock();
    private static ScheduledExecutorService executor; // guarded by LOCK
    private static int users; // guarded by LOCK

    private SharedTimer() {}

    static ScheduledExecutorService acquire() {
      LOCK.lock();
      try {
        if (executor == null) {
          java.util.concurrent.ScheduledThreadPoolExecutor pool =
              new java.util.concurrent.ScheduledThreadPoolExecutor(1, task -> {
                Thread t = new Thread(task, "shepherd-log-summary");
                t.setDaemon(true);
                return t;
              });
          pool.setRemoveOnCancelPolicy(true);
          executor = pool;
        }
        users++;
        return executor;
      } finally {
        LOCK.unlock();
      }
    }

    static void release() {
      LOCK.lock();
      try {
        if (--users == 0) {
          executor.shutdownNow();
          executor = null;
        }
      } finally {
        LOCK.unlock();
      }
    }

    static boolean running() {
      LOCK.lock();
      try {
        return executor != null;
      } finally {
        LOCK.unlock();
      }
    }

    static int users() {
      LOCK.lock();
      try {
        return users;
      } finally {
        LOCK.unlock();
      }
    }
  }

  /** Builds a {@link LogSummaryListener}; each setter validates at once. Not thread-safe. */
  public static final class Builder {
    private Logger logger;
    private Ticker ticker = Ticker.system();
    private Duration interval = DEFAULT_INTERVAL;
    private ScheduledExecutorService scheduler;
    /** Where a source's logger comes from; tests look at the names. */
    Function<String, Logger> loggers = LoggerFactory::getLogger;

    private Builder() {}

    /**
     * Sends every line to one logger instead of one logger per source.
     *
     * @param logger the SLF4J logger
     * @return this builder
     * @throws NullPointerException if {@code logger} is null
     */
    public Builder logger(Logger logger) {
      this.logger = Objects.requireNonNull(logger, "logger");
      return this;
    }

    /**
     * Sets the ticker that measures the interval.
     *
     * @param ticker the time source; default {@link Ticker#system()}
     * @return this builder
     * @throws NullPointerException if {@code ticker} is null
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets the length of a window: the shortest time between two summary lines of one source.
     *
     * @param interval a positive duration; default {@link #DEFAULT_INTERVAL}
     * @return this builder
     * @throws NullPointerException if {@code interval} is null
     * @throws IllegalArgumentException if {@code interval} is zero or negative
     */
    public Builder interval(Duration interval) {
      this.interval = Checks.positive(interval, "interval");
      return this;
    }

    /**
     * Runs the timer on {@code scheduler} instead of the shared daemon thread. The summariser
     * schedules one periodic task on it when it sees its first event and cancels it on
     * {@link LogSummaryListener#close()}; it never shuts the scheduler down.
     *
     * @param scheduler the scheduler
     * @return this builder
     * @throws NullPointerException if {@code scheduler} is null
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Builds the listener. It starts no thread until its first event.
     *
     * @return a new listener with every source quiet
     */
    public LogSummaryListener build() {
      return new LogSummaryListener(this);
    }
  }
}
