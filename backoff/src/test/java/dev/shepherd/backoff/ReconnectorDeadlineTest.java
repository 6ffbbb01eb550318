package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.shepherd.backoff.Reconnector.State;
import dev.shepherd.backoff.ReconnectorTest.FakeConnection;
import dev.shepherd.backoff.ReconnectorTest.ScriptedConnector;
import dev.shepherd.core.Deadline;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.Event;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.testing.ManualScheduler;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link Reconnector#start(Deadline)} on a {@link ManualClock#blocking()} clock: the reconnector
 * gives up at the deadline without ever sleeping past it, and says so on the returned stage.
 */
@Tag("concurrency")
@Timeout(20)
class ReconnectorDeadlineTest {

  private static final Duration PATIENCE = Duration.ofSeconds(10);
  private static final Duration SECOND = Duration.ofSeconds(1);

  private final ManualClock clock = ManualClock.blocking();
  private final List<Event> events = new CopyOnWriteArrayList<>();
  private final RecordingThreads recordingFactory = new RecordingThreads();
  private Reconnector<FakeConnection> reconnector;

  @AfterEach
  void noThreadIsLeaked() throws InterruptedException {
    if (reconnector != null) {
      reconnector.close();
      assertTrue(reconnector.awaitTermination(PATIENCE));
    }
    recordingFactory.assertAllEnd(PATIENCE);
  }

  private Reconnector.Builder<FakeConnection> builder(Reconnector.Connector<FakeConnection> connector) {
    return Reconnector.<FakeConnection>builder(connector)
        .name("hub")
        .ticker(clock)
        .sleeper(clock)
        .random(new SplittableRandom(42))
        .threadFactory(recordingFactory)
        .listener(events::add);
  }

  /** Waits until the loop has requested its {@code index}-th sleep (0-based) and returns it. */
  private Duration awaitWait(int index) {
    long until = System.nanoTime() + PATIENCE.toNanos();
    while (clock.sleeps().size() <= index) {
      if (System.nanoTime() > until) {
        fail("the loop did not ask for sleep #" + index + "; sleeps so far: " + clock.sleeps());
      }
      LockSupport.parkNanos(100_000);
    }
    return clock.sleeps().get(index);
  }

  private Duration passWait(int index) {
    Duration wait = awaitWait(index);
    clock.advance(wait);
    return wait;
  }

  /** The failure of a stage that must fail within the patience. */
  private static Throwable failureOf(java.util.concurrent.CompletionStage<?> stage) throws Exception {
    CompletableFuture<?> f = stage.toCompletableFuture();
    try {
      f.get(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (CancellationException e) {
      return e;
    }
    return fail("the stage completed normally");
  }

  private List<Event> gaveUp() {
    return events.stream().filter(e -> e.kind() == Event.Kind.GAVE_UP).collect(Collectors.toList());
  }

  @Test
  void aBackoffWaitThatWouldEndPastTheDeadlineEndsTheAttemptsAtOnce() throws Exception {
    // Given a server that keeps refusing, waits of 1 s, 2 s, 4 s and a deadline 5 s away
    IOException refused = new IOException("refused 3");
    ScriptedConnector connector = new ScriptedConnector(
        new IOException("refused 1"), new IOException("refused 2"), refused, new IOException("refused 4"));
    reconnector = builder(connector).initialSpread(Duration.ZERO).connectTimeout(Duration.ZERO)
        .backoff(TestBackoffs.sequence(SECOND, Duration.ofSeconds(2), Duration.ofSeconds(4))).build();
    var first = reconnector.start(Deadline.after(Duration.ofSeconds(5), clock));

    // When the attempts at 0 s, 1 s and 3 s fail (the next would follow a 4 s wait: at 7 s)
    assertEquals(Duration.ZERO, awaitWait(0));
    assertEquals(SECOND, passWait(1));
    assertEquals(Duration.ofSeconds(2), passWait(2));

    // Then it gives up at 3 s without sleeping towards the deadline, and says why
    Throwable failure = failureOf(first);
    DeadlineExceededException e = assertInstanceOf(DeadlineExceededException.class, failure);
    assertSame(refused, e.getCause(), "the last attempt's failure is the cause");
    assertEquals("hub", e.policyName());
    assertTrue(e.retryAfter().isEmpty(), "the caller has left: there is nothing to come back for");
    assertTrue(e.getMessage().contains("PT4S"), e.getMessage());
    assertTrue(reconnector.awaitTermination(PATIENCE));
    assertEquals(State.CLOSED, reconnector.state());
    assertEquals(List.of(Duration.ZERO, SECOND, Duration.ofSeconds(2)), clock.sleeps(), "no wait past 3 s");
    assertEquals(Duration.ofSeconds(3), clock.elapsed());
    assertEquals(3, connector.calls.get());
    List<Event> gaveUp = gaveUp();
    assertEquals(1, gaveUp.size());
    assertEquals(3, gaveUp.get(0).attempt());
    assertSame(refused, gaveUp.get(0).cause());
  }

  @Test
  void aWaitEndingExactlyAtTheDeadlineGivesUpTooButOneEndingJustBeforeDoesNot() throws Exception {
    // wait 1 s, then 2 s: the second ends at 3 s
    ScriptedConnector connector = new ScriptedConnector(new IOException("1"), new IOException("2"));
    reconnector = builder(connector).initialSpread(Duration.ZERO).connectTimeout(Duration.ZERO)
        .backoff(TestBackoffs.sequence(SECOND, Duration.ofSeconds(2))).build();
    var first = reconnector.start(Deadline.after(Duration.ofSeconds(3), clock));
    awaitWait(0);
    passWait(1);
    assertInstanceOf(DeadlineExceededException.class, failureOf(first), "a wait ending at 3 s leaves no time");
    assertEquals(2, connector.calls.get());

    ManualClock other = ManualClock.blocking();
    ScriptedConnector connector2 = new ScriptedConnector(new IOException("1"), new IOException("2"));
    Reconnector<FakeConnection> r = Reconnector.<FakeConnection>builder(connector2).ticker(other).sleeper(other)
        .random(new SplittableRandom(1)).threadFactory(recordingFactory).listener(e -> { })
        .initialSpread(Duration.ZERO).connectTimeout(Duration.ZERO)
        .backoff(TestBackoffs.sequence(SECOND, Duration.ofSeconds(2))).build();
    try {
      var connected = r.start(Deadline.after(Duration.ofMillis(3_001), other));
      for (int i = 0; i < 3; i++) {
        long until = System.nanoTime() + PATIENCE.toNanos();
        while (other.sleeps().size() <= i && System.nanoTime() < until) {
          LockSupport.parkNanos(100_000);
        }
        other.advance(other.sleeps().get(i));
      }
      FakeConnection c = connected.toCompletableFuture().get(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
      assertSame(connector2.opened.get(0), c, "1 ms to spare is enough: connected at 3 s");
    } finally {
      r.close();
      assertTrue(r.awaitTermination(PATIENCE));
    }
  }

  @Test
  void aDeadlineAlreadyPassedIsRefusedAtOnceWithoutAThreadOrAConnect() throws Exception {
    ScriptedConnector connector = new ScriptedConnector();
    reconnector = builder(connector).build();
    var first = reconnector.start(Deadline.after(Duration.ZERO, clock));
    assertTrue(first.toCompletableFuture().isCompletedExceptionally(), "refused before start returns");
    assertInstanceOf(DeadlineExceededException.class, failureOf(first));
    assertEquals(State.CLOSED, reconnector.state());
    assertTrue(reconnector.awaitTermination(Duration.ZERO));
    assertEquals(List.of(), recordingFactory.threads(), "no thread was started");
    assertEquals(0, connector.calls.get());
    assertEquals(1, gaveUp().size());
    assertEquals(0, gaveUp().get(0).attempt());
    assertThrows(IllegalStateException.class, reconnector::start, "closed for good");
  }

  @Test
  void anInitialSpreadDrawThatEndsPastTheDeadlineGivesUpBeforeAnyAttempt() throws Exception {
    Duration spread = Duration.ofSeconds(10);
    long draw = Reconnector.initialDelayNanos(new SplittableRandom(42), spread.toNanos());
    assertTrue(draw > 1, "the seed gives a draw above 1 ns");
    ScriptedConnector connector = new ScriptedConnector();
    reconnector = builder(connector).initialSpread(spread).build();
    var first = reconnector.start(Deadline.after(Duration.ofNanos(draw - 1), clock));
    assertInstanceOf(DeadlineExceededException.class, failureOf(first));
    assertTrue(reconnector.awaitTermination(PATIENCE));
    assertEquals(List.of(), clock.sleeps(), "it did not sleep at all");
    assertEquals(0, connector.calls.get());
  }

  @Test
  void eachConnectTimeoutIsCutToTheTimeLeftAndAHungConnectEndsAtTheDeadline() throws Exception {
    // Given a connect that hangs until interrupted, a 20 s connect timeout and a deadline 3 s away
    ManualScheduler timer = new ManualScheduler(clock);
    CountDownLatch entered = new CountDownLatch(1);
    reconnector = builder(() -> {
      entered.countDown();
      new CountDownLatch(1).await(); // hangs until the timeout interrupts it
      return fail("not reached");
    }).initialSpread(Duration.ZERO).connectTimeout(Duration.ofSeconds(20)).scheduler(timer)
        .backoff(TestBackoffs.constant(SECOND)).build();
    var first = reconnector.start(Deadline.after(Duration.ofSeconds(3), clock));
    passWait(0);
    assertTrue(entered.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS));
    long until = System.nanoTime() + PATIENCE.toNanos();
    while (timer.pendingTasks() == 0 && System.nanoTime() < until) {
      LockSupport.parkNanos(100_000);
    }
    assertEquals(List.of(Duration.ofSeconds(3)), timer.delays(), "the 20 s timeout is cut to the 3 s left");

    // When the deadline comes, the connect is cut short and the loop gives up instead of backing off
    clock.advance(Duration.ofSeconds(3));
    DeadlineExceededException e = assertInstanceOf(DeadlineExceededException.class, failureOf(first));
    assertInstanceOf(java.util.concurrent.TimeoutException.class, e.getCause());
    assertTrue(reconnector.awaitTermination(PATIENCE));
    assertEquals(List.of(Duration.ZERO), clock.sleeps(), "no backoff wait after the deadline");
  }

  @Test
  void aConnectionMadeAfterTheDeadlineIsClosedAndTheReconnectorGivesUp() throws Exception {
    // Given a connect on the loop's thread (no timeout can cut it) that takes 5 s of a 2 s deadline
    FakeConnection late = new FakeConnection();
    reconnector = builder(() -> {
      clock.advance(Duration.ofSeconds(5));
      return late;
    }).initialSpread(Duration.ZERO).connectTimeout(Duration.ZERO).build();
    var first = reconnector.start(Deadline.after(Duration.ofSeconds(2), clock));
    passWait(0);
    assertInstanceOf(DeadlineExceededException.class, failureOf(first));
    assertTrue(reconnector.awaitTermination(PATIENCE));
    assertEquals(1, late.closeCalls.get(), "nobody waits for it any more: it is closed");
    assertTrue(reconnector.connection().isEmpty());
    assertFalse(events.stream().anyMatch(e -> e.state() == State.CONNECTED), "never reported connected");
  }

  @Test
  void theDeadlineBoundsOnlyTheFirstConnectionLaterLossesAreReconnected() throws Exception {
    ScriptedConnector connector = new ScriptedConnector(new IOException("refused"));
    reconnector = builder(connector).initialSpread(Duration.ZERO).stableAfter(Duration.ZERO)
        .connectTimeout(Duration.ZERO).backoff(TestBackoffs.constant(SECOND)).build();
    var first = reconnector.start(Deadline.after(Duration.ofSeconds(2), clock));
    awaitWait(0);
    passWait(1);
    FakeConnection c = first.toCompletableFuture().get(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
    assertSame(connector.opened.get(0), c);

    // long after the deadline, the connection is lost: the reconnector carries on as start() would
    clock.advance(Duration.ofMinutes(10));
    c.lost.complete(null);
    passWait(2);
    long until = System.nanoTime() + PATIENCE.toNanos();
    while (connector.opened.size() < 2 && System.nanoTime() < until) {
      LockSupport.parkNanos(100_000);
    }
    assertEquals(2, connector.opened.size(), "reconnected after the loss");
    assertTrue(gaveUp().isEmpty());
  }

  @Test
  void closingBeforeTheFirstConnectionCancelsTheStage() throws Exception {
    reconnector = builder(new ScriptedConnector()).initialSpread(Duration.ofSeconds(10)).build();
    var first = reconnector.start(Deadline.after(Duration.ofMinutes(1), clock));
    awaitWait(0);
    reconnector.close();
    assertInstanceOf(CancellationException.class, failureOf(first));
    assertTrue(gaveUp().isEmpty(), "closing is not giving up at the deadline");
  }

  @Test
  void startWithADeadlineChecksItsArgumentAndRefusesASecondStart() {
    reconnector = builder(new ScriptedConnector()).initialSpread(Duration.ofSeconds(10)).build();
    assertThrows(NullPointerException.class, () -> reconnector.start(null));
    assertEquals(State.NEW, reconnector.state(), "a null deadline starts nothing");
    reconnector.start(Deadline.after(Duration.ofMinutes(1), clock));
    assertThrows(IllegalStateException.class, () -> reconnector.start(Deadline.after(SECOND, clock)));
  }
}
