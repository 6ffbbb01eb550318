package dev.shepherd.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
      this("capture");
    }

    CapturingLogger(String name) {
      this.name = name;
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

  private static final Duration INTERVAL = Duration.ofSeconds(10);

  private final TestTicker clock = new TestTicker();
  private final TestScheduler scheduler = new TestScheduler(clock);
  private final CapturingLogger logger = new CapturingLogger();
  private final LogSummaryListener listener = LogSummaryListener.builder()
      .logger(logger).ticker(clock).scheduler(scheduler).interval(INTERVAL).build();

  private static Event rejected(String source) {
    return Event.rejected(source, Duration.ofMillis(500), 1, "rate limit exceeded", null);
  }

  private static Event connected(String source) {
    return Event.stateChanged(source, Thread.State.NEW, Thread.State.RUNNABLE, "");
  }

  @Test
  void theFirstEventAfterAQuietPeriodIsWrittenAtOnce() {
    listener.onEvent(rejected("connect"));
    assertEquals(List.of("WARN 'connect' REJECTED: rate limit exceeded; retry-after 0.500 s"), logger.lines);
  }

  @Test
  void aStormIsItsFirstEventAtOnceThenOneSummaryLineOnTheTimerEvenIfNothingFollows() {
    int n = 10_000;
    for (int i = 0; i < n; i++) {
      listener.onEvent(rejected("connect"));
      clock.advanceNanos(50_000); // 10,000 x 50 us = 0.5 s: all inside one window
    }
    assertEquals(1, logger.lines.size(), "only the first line while the window is open: " + logger.lines);
    // nothing follows the storm: the timer alone writes the window, within one interval plus a second
    scheduler.advance(INTERVAL.minus(Duration.ofMillis(500)).plusSeconds(1));
    assertEquals(List.of(
        "WARN 'connect' REJECTED: rate limit exceeded; retry-after 0.500 s",
        "WARN 'connect': 9999 more events in 10.000 s: REJECTED x9999 (retry-after 0.500-0.500 s)"), logger.lines);
  }

  @Test
  void theLastWindowIsWrittenWithinOneIntervalPlusASecondAndNotBeforeTheIntervalIsOver() {
    scheduler.advance(Duration.ofMillis(300)); // the timer's phase is not the window's
    listener.onEvent(rejected("connect"));
    listener.onEvent(rejected("connect"));
    scheduler.advance(INTERVAL.minusNanos(1));
    assertEquals(1, logger.lines.size(), logger.lines.toString());
    scheduler.advance(Duration.ofSeconds(1));
    assertEquals(2, logger.lines.size(), logger.lines.toString());
    assertTrue(logger.lines.get(1).startsWith("WARN 'connect': 1 more event in 10."), logger.lines.get(1));
  }

  @Test
  void anEmptyWindowEndsTheIncidentAndTheNextEventIsWrittenAtOnceAgain() {
    listener.onEvent(rejected("connect"));
    scheduler.advance(INTERVAL.plusSeconds(1)); // the window counted nothing more: no line, quiet again
    assertEquals(1, logger.lines.size(), logger.lines.toString());
    scheduler.advance(Duration.ofMinutes(5));
    listener.onEvent(rejected("connect"));
    assertEquals(2, logger.lines.size(), logger.lines.toString());
    assertEquals(logger.lines.get(0), logger.lines.get(1));
  }

  @Test
  void anEventAfterTheWindowEndsWritesTheWindowBeforeTheTimerDoes() {
    listener.onEvent(rejected("connect"));
    listener.onEvent(rejected("connect"));
    clock.advance(INTERVAL); // the ticker moves, the timer has not run
    listener.onEvent(rejected("connect"));
    assertEquals(2, logger.lines.size(), logger.lines.toString());
    assertTrue(logger.lines.get(1).startsWith("WARN 'connect': 1 more event in 10.000 s"), logger.lines.get(1));
  }

  @Test
  void eachLineNamesItsSourceAndWindowsAreKeptPerSource() {
    for (int second = 0; second < 5; second++) {
      for (int i = 0; i < 100; i++) {
        listener.onEvent(rejected("connect"));
        listener.onEvent(connected("reconnector"));
        clock.advance(Duration.ofMillis(5));
      }
      scheduler.advance(Duration.ofMillis(9_500));
    }
    listener.flush();
    List<String> connect = new ArrayList<>();
    List<String> reconnector = new ArrayList<>();
    for (String line : logger.lines) {
      (line.contains("'connect'") ? connect : reconnector).add(line);
    }
    assertEquals("WARN 'connect' REJECTED: rate limit exceeded; retry-after 0.500 s", connect.get(0));
    assertEquals("INFO 'reconnector' STATE_CHANGED", reconnector.get(0));
    long counted = 0;
    for (String line : connect.subList(1, connect.size())) {
      counted += Long.parseLong(line.substring(line.indexOf(" x") + 2, line.indexOf(" (")));
    }
    assertEquals(499, counted, connect.toString());
    assertTrue(reconnector.get(1).contains("STATE_CHANGED x"), reconnector.get(1));
    assertTrue(reconnector.get(1).endsWith("(now RUNNABLE)"), reconnector.get(1));
  }

  @Test
  void eachSourceLogsToItsOwnLoggerSoOperatorsCanSetLevelsPerInstance() {
    Map<String, CapturingLogger> byName = new ConcurrentHashMap<>();
    LogSummaryListener.Builder builder = LogSummaryListener.builder().ticker(clock).scheduler(scheduler);
    builder.loggers = name -> byName.computeIfAbsent(name, CapturingLogger::new);
    LogSummaryListener perSource = builder.build();
    perSource.onEvent(rejected("connect"));
    perSource.onEvent(connected("hub-link"));
    assertEquals(List.of("WARN 'connect' REJECTED: rate limit exceeded; retry-after 0.500 s"),
        byName.get("shepherd.connect").lines);
    assertEquals(List.of("INFO 'hub-link' STATE_CHANGED"), byName.get("shepherd.hub-link").lines);
    perSource.close();
  }

  @Test
  void aLineCarriesTheFirstCauseOfItsWindowAsClassAndMessage() {
    listener.onEvent(Event.failed("db", 1, "connect failed", new java.net.ConnectException("Connection refused")));
    listener.onEvent(Event.failed("db", 2, "connect failed", new java.net.ConnectException("Connection refused\nagain")));
    listener.onEvent(Event.failed("db", 3, "connect failed", new IllegalStateException("later")));
    listener.flush();
    assertEquals(List.of(
        "WARN 'db' FAILED: connect failed; cause: java.net.ConnectException: Connection refused",
        "WARN 'db': 2 more events in 0.000 s: FAILED x2; first cause: java.net.ConnectException: Connection refused again"),
        logger.lines);
  }

  @Test
  void aCauseIsWrittenAsItsOwnClassAndMessageOnlyNeverItsCausesOrStackTrace() {
    // a wrapped exception from user code may hold a request with a secret in its cause chain
    RuntimeException inner = new RuntimeException("Authorization: Bearer s3cr3t-t0ken");
    RuntimeException outer = new RuntimeException("backend call failed", inner);
    outer.addSuppressed(new IllegalStateException("ticket=t1ck3t"));
    listener.onEvent(Event.failed("auth", 0, "backend failed", outer));
    listener.onEvent(Event.failed("auth", 0, "backend failed", outer));
    listener.onEvent(Event.fallback("auth", Duration.ZERO, "served stale", outer));
    listener.close();
    assertEquals(2, logger.lines.size(), logger.lines.toString());
    for (String line : logger.lines) {
      assertFalse(line.contains("s3cr3t") || line.contains("t1ck3t") || line.contains("\tat "), line);
      assertTrue(line.contains("java.lang.RuntimeException: backend call failed"), line);
    }
  }

  @Test
  void aLongCauseMessageIsCutAt200Characters() {
    String described = LogSummaryListener.describe(new IllegalStateException("x".repeat(500)));
    assertEquals(200, described.length());
    assertTrue(described.startsWith("java.lang.IllegalStateException: xxx") && described.endsWith("..."), described);
  }

  @Test
  void limitChangesAreSummarisedFromTheFirstBeforeToTheLastAfter() {
    listener.onEvent(Event.limitChanged("db", 20, 18, "drop"));
    listener.onEvent(Event.limitChanged("db", 18, 16, "drop"));
    listener.onEvent(Event.limitChanged("db", 16, 4, "drop"));
    listener.flush();
    assertEquals(List.of("INFO 'db' LIMIT_CHANGED: drop", "INFO 'db': 2 more events in 0.000 s: LIMIT_CHANGED x2 (limit 18 -> 4)"),
        logger.lines);
  }

  @Test
  void quietWindowsAreWrittenAtInfo() {
    listener.onEvent(connected("reconnector"));
    listener.onEvent(connected("reconnector"));
    listener.flush();
    assertEquals(List.of("INFO 'reconnector' STATE_CHANGED",
        "INFO 'reconnector': 1 more event in 0.000 s: STATE_CHANGED x1 (now RUNNABLE)"), logger.lines);
  }

  @Test
  void flushWithNothingCountedWritesNothing() {
    listener.flush();
    listener.flush();
    assertEquals(List.of(), logger.lines);
  }

  @Test
  void theTimerStartsWithTheFirstEventAndCloseStopsItAndWritesTheOpenWindows() {
    assertEquals(0, scheduler.liveTasks(), "no event yet, no timer");
    listener.onEvent(rejected("connect"));
    listener.onEvent(rejected("connect"));
    assertEquals(1, scheduler.liveTasks());
    listener.onEvent(rejected("other"));
    assertEquals(1, scheduler.liveTasks(), "one timer for every source");
    listener.close();
    assertEquals(0, scheduler.liveTasks());
    assertEquals(3, logger.lines.size(), logger.lines.toString());
    listener.close(); // idempotent
    listener.onEvent(rejected("connect")); // a late event is still written, and re-arms the timer
    assertEquals(4, logger.lines.size(), logger.lines.toString());
    assertEquals(1, scheduler.liveTasks());
    listener.close();
  }

  @Test
  void theSharedTimerThreadStartsOnFirstUseAndEndsWhenTheLastSummariserCloses() throws Exception {
    LogSummaryListener a = LogSummaryListener.builder().logger(logger).build();
    LogSummaryListener b = LogSummaryListener.builder().logger(logger).build();
    int before = LogSummaryListener.SharedTimer.users();
    a.onEvent(rejected("a"));
    b.onEvent(rejected("b"));
    assertEquals(before + 2, LogSummaryListener.SharedTimer.users());
    assertTrue(LogSummaryListener.SharedTimer.running());
    Thread timer = Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().equals("shepherd-log-summary")).findFirst().orElseThrow();
    assertTrue(timer.isDaemon(), "the timer never keeps a JVM alive");
    a.close();
    b.close();
    assertEquals(before, LogSummaryListener.SharedTimer.users());
    assertEquals(before > 0, LogSummaryListener.SharedTimer.running());
  }

  @Test
  void loggingReturnsOneSharedSummariser() {
    assertSame(EventListener.logging(), EventListener.logging());
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
              clock.advance(Duration.ofSeconds(3)); // windows close while others count
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
      total += line.contains(" more event") ? Long.parseLong(line.substring(line.indexOf(" x") + 2, line.indexOf(" ("))) : 1;
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
