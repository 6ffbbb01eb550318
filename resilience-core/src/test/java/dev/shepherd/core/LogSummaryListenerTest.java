package dev.shepherd.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.AbstractLogger;
import org.slf4j.helpers.MessageFormatter;

class LogSummaryListenerTest {

  /** An SLF4J logger that keeps what it is asked to write. */
  static final class CapturingLogger extends AbstractLogger {
    private static final long serialVersionUID = 1L;
    final transient List<String> lines = new CopyOnWriteArrayList<>(); // a test double: never serialised

    CapturingLogger() {
      this.name = "capture";
    }

    @Override
    protected String getFullyQualifiedCallerName() {
      return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] args, Throwable t) {
      lines.add(level + " " + MessageFormatter.basicArrayFormat(pattern, args));
    }

    @Override
    public boolean isTraceEnabled() {
      return true;
    }

    @Override
    public boolean isTraceEnabled(Marker marker) {
      return true;
    }

    @Override
    public boolean isDebugEnabled() {
      return true;
    }

    @Override
    public boolean isDebugEnabled(Marker marker) {
      return true;
    }

    @Override
    public boolean isInfoEnabled() {
      return true;
    }

    @Override
    public boolean isInfoEnabled(Marker marker) {
      return true;
    }

    @Override
    public boolean isWarnEnabled() {
      return true;
    }

    @Override
    public boolean isWarnEnabled(Marker marker) {
      return true;
    }

    @Override
    public boolean isErrorEnabled() {
      return true;
    }

    @Override
    public boolean isErrorEnabled(Marker marker) {
      return true;
    }
  }

  private final TestTicker clock = new TestTicker();
  private final CapturingLogger logger = new CapturingLogger();
  private final LogSummaryListener listener =
      LogSummaryListener.builder().logger(logger).ticker(clock).interval(Duration.ofSeconds(1)).build();

  private static Event rejected(String source) {
    return new Event(source, Event.Kind.REJECTED, Duration.ofMillis(500), "", null);
  }

  @Test
  void aStormInOneIntervalBecomesOneSummaryLineWithItsCount() {
    int n = 10_000;
    for (int i = 0; i < n; i++) {
      listener.onEvent(rejected("connect"));
      clock.advanceNanos(50_000); // 10,000 × 50 µs = 0.5 s: all inside one interval
    }
    assertEquals(List.of(), logger.lines, "nothing is written while the window is open");
    clock.advance(Duration.ofMillis(500));
    listener.onEvent(rejected("connect"));
    assertEquals(List.of("WARN shepherd: 10000 events in 1.000 s: 'connect' REJECTED x10000"), logger.lines);
  }

  @Test
  void linesAreAtMostOnePerIntervalAndCountEverySourceAndKind() {
    for (int second = 0; second < 5; second++) {
      for (int i = 0; i < 100; i++) {
        listener.onEvent(rejected("connect"));
        listener.onEvent(Event.of("reconnector", Event.Kind.STATE_CHANGED, "connected"));
        clock.advance(Duration.ofMillis(5));
      }
      clock.advance(Duration.ofMillis(500));
    }
    listener.flush();
    assertEquals(5, logger.lines.size(), logger.lines.toString());
    for (String line : logger.lines) {
      assertTrue(line.endsWith("'connect' REJECTED x100, 'reconnector' STATE_CHANGED x100"), line);
    }
  }

  @Test
  void quietWindowsAreWrittenAtInfo() {
    listener.onEvent(Event.of("reconnector", Event.Kind.STATE_CHANGED, "connected"));
    listener.flush();
    assertEquals(List.of("INFO shepherd: 1 events in 0.000 s: 'reconnector' STATE_CHANGED x1"), logger.lines);
  }

  @Test
  void flushWithNothingCountedWritesNothing() {
    listener.flush();
    listener.flush();
    assertEquals(List.of(), logger.lines);
  }

  @Test
  void theIntervalMustBePositive() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LogSummaryListener.builder().interval(Duration.ZERO));
    assertEquals("interval must be positive: PT0S", e.getMessage());
  }

  @Test
  @Tag("concurrency")
  @Timeout(30)
  void concurrentEventsAreAllCountedAndNoneLost() throws Exception {
    int threads = 4;
    int perThread = 20_000;
    CyclicBarrier start = new CyclicBarrier(threads);
    CountDownLatch done = new CountDownLatch(threads);
    for (int t = 0; t < threads; t++) {
      new Thread(() -> {
        try {
          start.await(10, TimeUnit.SECONDS);
          for (int i = 0; i < perThread; i++) {
            listener.onEvent(rejected("connect"));
            if (i % 1000 == 0) {
              clock.advance(Duration.ofMillis(300)); // windows close while others count
            }
          }
        } catch (Exception e) {
          throw new AssertionError(e);
        } finally {
          done.countDown();
        }
      }).start();
    }
    assertTrue(done.await(20, TimeUnit.SECONDS));
    listener.flush();
    long total = 0;
    for (String line : logger.lines) {
      total += Long.parseLong(line.substring(line.lastIndexOf(" x") + 2));
    }
    assertEquals((long) threads * perThread, total);
  }

  @Test
  void aThrowingListenerIsSwallowedWhenGuarded() {
    EventListener broken = event -> {
      throw new IllegalStateException("boom");
    };
    EventListener guarded = EventListener.guarded(broken);
    guarded.onEvent(rejected("x")); // must not throw
    assertEquals(guarded, EventListener.guarded(guarded));
  }

  @Test
  void andThenCallsBothInOrder() {
    List<String> seen = new CopyOnWriteArrayList<>();
    EventListener first = e -> seen.add("first " + e.kind());
    first.andThen(e -> seen.add("second " + e.kind())).onEvent(rejected("x"));
    assertEquals(List.of("first REJECTED", "second REJECTED"), seen);
  }
}
