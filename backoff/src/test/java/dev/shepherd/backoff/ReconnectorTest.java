package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.shepherd.backoff.Reconnector.State;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.testing.ManualScheduler;
import dev.shepherd.core.RejectedException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The reconnect loop on a {@link ManualClock#blocking()} clock: the test waits until the loop has
 * asked for a sleep (so its wake-up time is fixed), then advances the clock by exactly that much.
 */
@Tag("concurrency")
@Timeout(20)
class ReconnectorTest {

  private static final Duration PATIENCE = Duration.ofSeconds(10);
  private static final Duration SECOND = Duration.ofSeconds(1);

  private final ManualClock clock = ManualClock.blocking();
  private final BlockingQueue<State> states = new LinkedBlockingQueue<>();
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

  /** A connection whose loss the test triggers. */
  static class FakeConnection implements Reconnector.Connection {
    final CompletableFuture<Void> lost = new CompletableFuture<>();
    final AtomicInteger closeCalls = new AtomicInteger();

    @Override
    public CompletionStage<?> closed() {
      return lost;
    }

    @Override
    public void close() {
      closeCalls.incrementAndGet();
      lost.complete(null);
    }
  }

  /** Throws the scripted exceptions in order (a null entry connects), then always connects. */
  static final class ScriptedConnector implements Reconnector.Connector<FakeConnection> {
    final List<Exception> script;
    final List<FakeConnection> opened = new CopyOnWriteArrayList<>();
    final AtomicInteger calls = new AtomicInteger();

    ScriptedConnector(Exception... script) {
      this.script = new ArrayList<>(java.util.Arrays.asList(script));
    }

    @Override
    public FakeConnection connect() throws Exception {
      int n = calls.getAndIncrement();
      if (n < script.size() && script.get(n) != null) {
        throw script.get(n);
      }
      FakeConnection c = new FakeConnection();
      opened.add(c);
      return c;
    }
  }

  private Reconnector.Builder<FakeConnection> builder(Reconnector.Connector<FakeConnection> connector) {
    return builderOf(connector);
  }

  private Reconnector.Builder<FakeConnection> builder(Reconnector.RefusalAwareConnector<FakeConnection> connector) {
    return builderOf(connector);
  }

  private Reconnector.Builder<FakeConnection> builderOf(Reconnector.Connector<FakeConnection> connector) {
    return Reconnector.<FakeConnection>builder(connector)
        .name("hub")
        .ticker(clock)
        .sleeper(clock)
        .random(new SplittableRandom(42))
        .threadFactory(recordingFactory)
        .listener(recording(s -> { }));
  }

  /** Records every event, the typed states in {@code states}, and hands each new state to {@code also}. */
  private EventListener recording(java.util.function.Consumer<State> also) {
    return e -> {
      events.add(e);
      if (e.kind() == Event.Kind.STATE_CHANGED) {
        State s = (State) e.state();
        states.add(s);
        also.accept(s);
      }
    };
  }

  private void expectState(State expected) throws InterruptedException {
    State next = states.poll(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
    assertEquals(expected, next);
  }

  /** Waits until the loop has requested its {@code index}-th sleep (0-based) and returns it. */
  private Duration awaitWait(int index) {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (clock.sleeps().size() <= index) {
      if (System.nanoTime() > deadline) {
        fail("the loop did not ask for sleep #" + index + "; sleeps so far: " + clock.sleeps());
      }
      LockSupport.parkNanos(100_000);
    }
    return clock.sleeps().get(index);
  }

  /** Waits for the {@code index}-th sleep and lets it elapse. */
  private Duration passWait(int index) {
    Duration wait = awaitWait(index);
    clock.advance(wait);
    return wait;
  }

  @Test
  void theFirstAttemptFollowsADrawFromTheInitialSpread() throws Exception {
    Duration spread = Duration.ofSeconds(10);
    ScriptedConnector connector = new ScriptedConnector();
    reconnector = builder(connector).initialSpread(spread).build();
    assertEquals(State.NEW, reconnector.state());
    reconnector.start();
    expectState(State.WAITING);
    Duration first = awaitWait(0);
    assertEquals(Reconnector.initialDelayNanos(new SplittableRandom(42), spread.toNanos()), first.toNanos(),
        "the loop's first wait is the package-private draw the spread proof tests");
    assertEquals(0, connector.calls.get(), "no attempt before the spread wait");
    clock.advance(first);
    expectState(State.CONNECTING);
    expectState(State.CONNECTED);
    assertEquals(State.CONNECTED, reconnector.state());
    assertEquals(connector.opened.get(0), reconnector.connection().orElseThrow());
  }

  @Test
  void everyLossIsFollowedByAFreshDrawFromTheInitialSpreadBeforeTheFirstAttempt() throws Exception {
    // The whole fleet loses its connection at one instant, so even after a stable connection (no
    // backoff pending) the first reconnect waits a draw from [0, initialSpread]; connecting at
    // once would bring every hub back together.
    Duration spread = Duration.ofSeconds(10);
    ScriptedConnector connector = new ScriptedConnector();
    reconnector = builder(connector).initialSpread(spread).stableAfter(Duration.ZERO)
        .backoff(TestBackoffs.constant(Duration.ofHours(1))).build();
    SplittableRandom same = new SplittableRandom(42); // the loop's generator, replayed
    long onStart = Reconnector.initialDelayNanos(same, spread.toNanos());
    long afterLoss = Reconnector.initialDelayNanos(same, spread.toNanos());
    assertTrue(afterLoss > 0, "the seed gives a non-zero second draw");
    reconnector.start();
    assertEquals(onStart, passWait(0).toNanos());
    drainUntil(State.CONNECTED);

    connector.opened.get(0).lost.complete(null);
    Duration wait = awaitWait(1);
    assertEquals(afterLoss, wait.toNanos(), "a fresh spread draw, not zero and not the backoff");
    assertTrue(clock.awaitSleepers(1, PATIENCE));
    assertEquals(1, connector.calls.get(), "no attempt before the spread wait has passed");
    clock.advance(wait);
    drainUntil(State.CONNECTED);
    assertEquals(2, connector.calls.get());
  }

  @Test
  void failedAttemptsBackOff() throws Exception {
    ScriptedConnector connector = new ScriptedConnector(
        new IOException("refused 1"), new IOException("refused 2"), new IOException("refused 3"));
    reconnector = builder(connector).initialSpread(Duration.ZERO)
        .backoff(TestBackoffs.sequence(SECOND, Duration.ofSeconds(2), Duration.ofSeconds(4))).build();
    reconnector.start();
    assertEquals(Duration.ZERO, awaitWait(0));
    assertEquals(SECOND, passWait(1));
    assertEquals(Duration.ofSeconds(2), passWait(2));
    assertEquals(Duration.ofSeconds(4), passWait(3));
    List<State> seen = drainUntil(State.CONNECTED);
    assertEquals(List.of(State.WAITING, State.CONNECTING, State.WAITING, State.CONNECTING, State.WAITING,
        State.CONNECTING, State.WAITING, State.CONNECTING, State.CONNECTED), seen);
    assertEquals(4, connector.calls.get());
    assertEquals(4, reconnector.connectAttempts());
    // typed data: each failure and each wait names its attempt; the wait before the first is attempt 0
    assertEquals(List.of(1, 2, 3), events.stream().filter(e -> e.kind() == Event.Kind.FAILED)
        .map(Event::attempt).collect(Collectors.toList()));
    assertEquals(List.of(0, 1, 2, 3), events.stream().filter(e -> e.kind() == Event.Kind.RETRY)
        .map(Event::attempt).collect(Collectors.toList()));
    Event connected = events.stream().filter(e -> e.state() == State.CONNECTED).findFirst().orElseThrow();
    assertEquals(State.CONNECTING, connected.previousState());
    List<Event> failures = events.stream().filter(e -> e.kind() == Event.Kind.FAILED).collect(Collectors.toList());
    assertEquals(3, failures.size());
    assertEquals("refused 3", failures.get(2).cause().getMessage());
    List<Duration> retryDelays = events.stream().filter(e -> e.kind() == Event.Kind.RETRY)
        .map(Event::delay).collect(Collectors.toList());
    assertEquals(List.of(Duration.ZERO, SECOND, Duration.ofSeconds(2), Duration.ofSeconds(4)), retryDelays);
  }

  @Test
  void theBackoffResetsOnlyAfterAConnectionStayedUpForStableAfter() throws Exception {
    ScriptedConnector connector = new ScriptedConnector(
        new IOException("refused"), null, null, new IOException("refused again"));
    reconnector = builder(connector).initialSpread(Duration.ZERO).stableAfter(Duration.ofSeconds(10))
        .backoff(TestBackoffs.sequence(SECOND, Duration.ofSeconds(2), Duration.ofSeconds(4))).build();
    reconnector.start();
    assertEquals(Duration.ZERO, awaitWait(0));
    assertEquals(SECOND, passWait(1));
    drainUntil(State.CONNECTED);

    // lost at once: not stable, so the backoff goes on (2 s) instead of restarting
    connector.opened.get(0).lost.complete(null);
    assertEquals(Duration.ofSeconds(2), passWait(2));
    drainUntil(State.CONNECTED);

    // up for 10 s: stable, so after its loss only the spread draw (0) and then a fresh backoff (1 s)
    clock.advance(Duration.ofSeconds(10));
    connector.opened.get(1).lost.complete(null);
    assertEquals(Duration.ZERO, awaitWait(3));
    assertEquals(SECOND, passWait(4));
    drainUntil(State.CONNECTED);
    assertEquals(5, connector.calls.get());
    assertEquals(1, connector.opened.get(0).closeCalls.get(), "a lost connection is closed to free it");
  }

  @Test
  void aFlappingServerIsNotHammeredByTheSpreadAlone() throws Exception {
    ScriptedConnector connector = new ScriptedConnector();
    reconnector = builder(connector).initialSpread(Duration.ofMillis(100)).stableAfter(Duration.ofMinutes(1))
        .backoff(TestBackoffs.sequence(Duration.ofSeconds(5), Duration.ofSeconds(10))).build();
    reconnector.start();
    passWait(0);
    for (int flap = 0; flap < 2; flap++) {
      drainUntil(State.CONNECTED);
      connector.opened.get(flap).lost.complete(null);
      Duration wait = passWait(1 + flap);
      assertEquals(flap == 0 ? Duration.ofSeconds(5) : Duration.ofSeconds(10), wait);
    }
    drainUntil(State.CONNECTED);
  }

  @Test
  void aRetryAfterHintOnAFailedConnectIsHonouredWithJitterAbove() throws Exception {
    ScriptedConnector connector = new ScriptedConnector(
        new RejectedException("connect-server", "too many connects", Duration.ofSeconds(30)));
    reconnector = builder(connector).initialSpread(Duration.ZERO).backoff(TestBackoffs.constant(SECOND))
        .retryAfterSpread(0.2).retryAfterMinJitter(SECOND).build();
    reconnector.start();
    awaitWait(0);
    Duration wait = passWait(1);
    assertTrue(wait.compareTo(Duration.ofSeconds(30)) >= 0 && wait.compareTo(Duration.ofSeconds(36)) <= 0,
        wait::toString);
    drainUntil(State.CONNECTED);
  }

  @Test
  void aRetryAfterHintCarriedByTheLossIsHonoured() throws Exception {
    ScriptedConnector connector = new ScriptedConnector();
    reconnector = builder(connector).initialSpread(Duration.ZERO).stableAfter(Duration.ZERO)
        .maxRetryAfter(Duration.ofSeconds(20)).build();
    reconnector.start();
    awaitWait(0);
    drainUntil(State.CONNECTED);
    connector.opened.get(0).lost.completeExceptionally(
        new RejectedException("server", "draining, come back later", Duration.ofMinutes(5)));
    Duration wait = passWait(1);
    // clamped to 20 s, jitter width max(20 s × 0.2, 1 s) = 4 s
    assertTrue(wait.compareTo(Duration.ofSeconds(20)) >= 0 && wait.compareTo(Duration.ofSeconds(24)) <= 0,
        wait::toString);
    drainUntil(State.CONNECTED);
    Event lost = events.stream().filter(e -> e.kind() == Event.Kind.FAILED).findFirst().orElseThrow();
    assertTrue(lost.cause() instanceof RejectedException);
  }

  @Test
  void aPersonalSlotIsKeptWithASmallJitterAndDoesNotGrowTheBackoff() throws Exception {
    // Given a server that refuses twice with a personal slot, then once plainly
    RejectedException slot = new RejectedException("connect-server", "your slot", 40_000_000_000L, true);
    ScriptedConnector connector = new ScriptedConnector(
        new IOException("refused"), slot, slot, new IOException("refused again"));
    reconnector = builder(connector).initialSpread(Duration.ZERO)
        .backoff(TestBackoffs.sequence(SECOND, Duration.ofSeconds(2), Duration.ofSeconds(4))).build();
    reconnector.start();
    awaitWait(0);
    assertEquals(SECOND, passWait(1));
    // Then each slot is kept: 40 s plus at most the 100 ms slot jitter, not 40 s + 20 %
    for (int i = 2; i <= 3; i++) {
      Duration wait = passWait(i);
      assertTrue(wait.compareTo(Duration.ofSeconds(40)) >= 0
          && wait.compareTo(Duration.ofMillis(40_100)) <= 0, wait::toString);
    }
    // And the plain refusal after them takes the backoff's second delay: the slots did not grow it
    assertEquals(Duration.ofSeconds(2), passWait(4));
    drainUntil(State.CONNECTED);
  }

  @Test
  void aRefusalAwareConnectorIsToldTheLastRefusalAndNothingAfterASuccess() throws Exception {
    RejectedException slot = new RejectedException("connect-server", "ticket abc", 5_000_000_000L, true);
    List<RejectedException> told = new CopyOnWriteArrayList<>();
    ScriptedConnector inner = new ScriptedConnector(slot, new IOException("plain"), null);
    Reconnector.RefusalAwareConnector<FakeConnection> dial = lastRefusal -> {
      told.add(lastRefusal);
      return inner.connect();
    };
    reconnector = builder(dial).initialSpread(Duration.ZERO).stableAfter(Duration.ZERO)
        .backoff(TestBackoffs.constant(SECOND)).build();
    reconnector.start();
    passWait(0);
    passWait(1); // the slot
    passWait(2); // the backoff after the plain failure
    drainUntil(State.CONNECTED);
    inner.opened.get(0).lost.complete(null);
    passWait(3);
    drainUntil(State.CONNECTED);
    assertEquals(java.util.Arrays.asList(null, slot, null, null), told);
  }

  @Test
  void aHungConnectTimesOutOnTheClockAndTheLoopGoesOn() throws Exception {
    // Given a first connect that hangs, ignoring interrupts, and a timer driven by the manual clock
    ManualScheduler timer = new ManualScheduler(clock);
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch lateClosed = new CountDownLatch(1);
    FakeConnection late = new FakeConnection() {
      @Override
      public void close() {
        super.close();
        lateClosed.countDown();
      }
    };
    ScriptedConnector then = new ScriptedConnector();
    AtomicInteger calls = new AtomicInteger();
    java.util.concurrent.atomic.AtomicBoolean interruptedByTimeout = new java.util.concurrent.atomic.AtomicBoolean();
    reconnector = builder(() -> {
      if (calls.getAndIncrement() > 0) {
        return then.connect();
      }
      entered.countDown();
      boolean interrupted = false;
      while (release.getCount() > 0) {
        try {
          release.await();
        } catch (InterruptedException e) {
          interrupted = true; // a connect that ignores interrupts, as some socket APIs do
        }
      }
      interruptedByTimeout.set(interrupted);
      return late;
    }).initialSpread(Duration.ZERO).connectTimeout(Duration.ofSeconds(20)).scheduler(timer)
        .backoff(TestBackoffs.constant(Duration.ofSeconds(3))).build();
    reconnector.start();
    passWait(0);
    assertTrue(entered.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS));
    awaitScheduled(timer); // the loop arms the timer just after starting the connect thread
    assertEquals(List.of(Duration.ofSeconds(20)), timer.delays());

    // When 19.999 s pass, nothing happens; at 20 s the timeout fires (the clock runs the timer)
    clock.advance(Duration.ofMillis(19_999));
    assertEquals(1, timer.pendingTasks());
    clock.advance(Duration.ofMillis(1));
    assertEquals(0, timer.pendingTasks());

    // Then the loop fails the attempt, backs off and connects, while the hung connect still hangs
    assertEquals(Duration.ofSeconds(3), passWait(1));
    drainUntil(State.CONNECTED);
    Event failed = events.stream().filter(e -> e.kind() == Event.Kind.FAILED).findFirst().orElseThrow();
    assertTrue(failed.cause() instanceof java.util.concurrent.TimeoutException, String.valueOf(failed.cause()));
    assertEquals(1, then.opened.size());
    // And the connection the hung connect returns at last is closed at once
    release.countDown();
    assertTrue(lateClosed.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS));
    assertTrue(interruptedByTimeout.get(), "the timeout interrupts the hung connect");
    assertTrue(reconnector.connection().orElseThrow() == then.opened.get(0));
  }

  /** Waits (bounded, in real time) until the loop's thread has armed its connect timeout. */
  private static void awaitScheduled(ManualScheduler timer) throws InterruptedException {
    assertTrue(timer.awaitPendingTasks(1, PATIENCE), "the connect timeout was armed");
    assertEquals(1, timer.pendingTasks(), "only the connect timeout");
  }

  @Test
  void aConnectThatAnswersInTimeCancelsItsTimer() throws Exception {
    ManualScheduler timer = new ManualScheduler(clock);
    ScriptedConnector connector = new ScriptedConnector(new IOException("refused"));
    reconnector = builder(connector).initialSpread(Duration.ZERO).scheduler(timer)
        .backoff(TestBackoffs.constant(SECOND)).build();
    reconnector.start();
    passWait(0);
    passWait(1);
    drainUntil(State.CONNECTED);
    assertEquals(List.of(Duration.ofSeconds(20), Duration.ofSeconds(20)), timer.delays(), "the default is 20 s");
    assertEquals(0, timer.pendingTasks(), "each timer was cancelled when its connect answered");
  }

  @Test
  void aZeroConnectTimeoutConnectsOnTheLoopsThreadWithoutATimer() throws Exception {
    ManualScheduler timer = new ManualScheduler(clock);
    List<Thread> connectThreads = new CopyOnWriteArrayList<>();
    ScriptedConnector inner = new ScriptedConnector();
    reconnector = builder(() -> {
      connectThreads.add(Thread.currentThread());
      return inner.connect();
    }).initialSpread(Duration.ZERO).connectTimeout(Duration.ZERO).scheduler(timer).build();
    reconnector.start();
    drainUntil(State.CONNECTED);
    assertEquals(List.of(recordingFactory.threads().get(0)), connectThreads);
    assertEquals(List.of(), timer.delays());
  }

  @Test
  void closeInterruptsAWaitAtOnce() throws Exception {
    ScriptedConnector connector = new ScriptedConnector();
    reconnector = builder(connector).initialSpread(Duration.ofHours(1)).build();
    reconnector.start();
    awaitWait(0);
    assertTrue(clock.awaitSleepers(1, PATIENCE));
    reconnector.close();
    assertTrue(reconnector.awaitTermination(PATIENCE));
    assertEquals(State.CLOSED, reconnector.state());
    assertEquals(0, connector.calls.get());
    assertEquals(0, clock.sleepingThreads());
  }

  @Test
  void closeFromAListenerOnTheLoopsThreadStopsWithoutWaiting() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    java.util.concurrent.atomic.AtomicReference<Reconnector<FakeConnection>> self =
        new java.util.concurrent.atomic.AtomicReference<>();
    reconnector = builder(() -> {
      calls.incrementAndGet();
      return new FakeConnection();
    }).initialSpread(Duration.ofHours(1)).listener(recording(s -> {
      if (s == State.WAITING) {
        self.get().close(); // on the loop's own thread: cannot be an interrupt
      }
    })).build();
    self.set(reconnector);
    reconnector.start();
    assertTrue(reconnector.awaitTermination(PATIENCE), "the loop must not sleep after closing itself");
    assertEquals(List.of(), clock.sleeps());
    assertEquals(0, calls.get());
    assertEquals(State.CLOSED, reconnector.state());
  }

  @Test
  void aThreadFactoryThatThrowsFailsTheStartAndLeavesItClosed() throws Exception {
    Reconnector<FakeConnection> r = builder(new ScriptedConnector()).threadFactory(task -> {
      throw new IllegalStateException("no threads today");
    }).build();
    assertThrows(IllegalStateException.class, r::start);
    assertEquals(State.CLOSED, r.state());
    assertTrue(r.awaitTermination(Duration.ZERO));
  }

  @Test
  void closeClosesTheLiveConnectionOnceAndIsIdempotent() throws Exception {
    ScriptedConnector connector = new ScriptedConnector();
    reconnector = builder(connector).initialSpread(Duration.ZERO).build();
    reconnector.start();
    drainUntil(State.CONNECTED);
    reconnector.close();
    reconnector.close();
    assertTrue(reconnector.awaitTermination(PATIENCE));
    reconnector.close();
    assertEquals(1, connector.opened.get(0).closeCalls.get());
    assertEquals(List.of(State.CLOSED), drainUntil(State.CLOSED));
    assertTrue(states.isEmpty(), "CLOSED is reported once: " + states);
    assertTrue(reconnector.connection().isEmpty());
  }

  @Test
  void aConnectionReturnedAfterCloseIsClosedAtOnce() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    FakeConnection late = new FakeConnection();
    Reconnector.Connector<FakeConnection> stubborn = () -> {
      entered.countDown();
      boolean interrupted = false;
      while (true) {
        try {
          release.await(); // a connect that ignores interrupts, as some socket APIs do
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      return late;
    };
    ManualScheduler timer = new ManualScheduler(clock);
    reconnector = builder(stubborn).initialSpread(Duration.ZERO).scheduler(timer).build();
    reconnector.start();
    assertTrue(entered.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS));
    awaitScheduled(timer); // the loop now waits for the connect's result
    reconnector.close();
    release.countDown();
    assertTrue(reconnector.awaitTermination(PATIENCE));
    // The late connection is closed by whichever thread sees it last; wait (bounded) for its close.
    late.lost.get(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
    assertEquals(1, late.closeCalls.get());
    assertTrue(reconnector.connection().isEmpty());
  }

  @Test
  @Tag("concurrency")
  void aConnectionHandedOverAsCloseStrikesIsClosedInEveryInterleaving() throws Exception {
    // close() and the connect's return race: whichever side loses, the connection must be closed.
    for (int round = 0; round < 200; round++) {
      CountDownLatch entered = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      FakeConnection late = new FakeConnection();
      ManualScheduler timer = new ManualScheduler(clock);
      Reconnector<FakeConnection> r = builder(() -> {
        entered.countDown();
        while (release.getCount() > 0) {
          try {
            release.await(); // a connect that ignores interrupts returns its connection after close()
          } catch (InterruptedException ignoredOnPurpose) {
            // as some socket APIs do
          }
        }
        return late;
      }).initialSpread(Duration.ZERO).scheduler(timer).build();
      r.start();
      assertTrue(entered.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS));
      awaitScheduled(timer);
      CyclicBarrier both = new CyclicBarrier(2);
      Thread releaser = new Thread(() -> {
        try {
          both.await();
          release.countDown();
        } catch (InterruptedException | BrokenBarrierException e) {
          Thread.currentThread().interrupt();
        }
      });
      releaser.start();
      both.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
      r.close();
      releaser.join(PATIENCE.toMillis());
      assertTrue(r.awaitTermination(PATIENCE));
      late.lost.get(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
      assertEquals(1, late.closeCalls.get(), "round " + round);
    }
  }

  @Test
  void closeCutsShortAConnectThatRespondsToInterrupts() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch never = new CountDownLatch(1);
    reconnector = builder(() -> {
      entered.countDown();
      never.await();
      return new FakeConnection();
    }).initialSpread(Duration.ZERO).build();
    reconnector.start();
    assertTrue(entered.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS));
    reconnector.close();
    assertTrue(reconnector.awaitTermination(PATIENCE));
    assertEquals(State.CLOSED, reconnector.state());
  }

  @Test
  void theLoopAndEachConnectRunOnThreadsFromTheFactoryAndTheDefaultIsANamedDaemon() throws Exception {
    List<Thread> connectThreads = new CopyOnWriteArrayList<>();
    ScriptedConnector inner = new ScriptedConnector();
    reconnector = builder(() -> {
      connectThreads.add(Thread.currentThread());
      return inner.connect();
    }).initialSpread(Duration.ZERO).build();
    reconnector.start();
    drainUntil(State.CONNECTED);
    // The loop is the factory's first thread; the connect ran on a second one, so it could time out.
    assertEquals(List.of(recordingFactory.threads().get(1)), connectThreads);

    CountDownLatch connected = new CountDownLatch(1);
    List<Thread> defaultThreads = new CopyOnWriteArrayList<>();
    Reconnector<FakeConnection> defaults = Reconnector.<FakeConnection>builder(() -> {
      defaultThreads.add(Thread.currentThread());
      return new FakeConnection();
    }).name("plain").initialSpread(Duration.ZERO).ticker(clock).sleeper(clock).listener(e -> {
      if (e.state() == State.CONNECTED) {
        connected.countDown();
      }
    }).build();
    defaults.start();
    assertTrue(connected.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS));
    defaults.close();
    assertTrue(defaults.awaitTermination(PATIENCE));
    Thread loop = defaultThreads.get(0);
    assertEquals("shepherd-reconnector-plain", loop.getName());
    assertTrue(loop.isDaemon());
    loop.join(PATIENCE.toMillis());
    assertFalse(loop.isAlive());
  }

  @Test
  void startTwiceOrAfterCloseIsRefused() throws Exception {
    reconnector = builder(new ScriptedConnector()).initialSpread(Duration.ofHours(1)).build();
    reconnector.start();
    assertThrows(IllegalStateException.class, reconnector::start);
    reconnector.close();
    assertThrows(IllegalStateException.class, reconnector::start);

    Reconnector<FakeConnection> neverStarted = builder(new ScriptedConnector()).build();
    neverStarted.close();
    assertEquals(State.CLOSED, neverStarted.state());
    assertTrue(neverStarted.awaitTermination(Duration.ZERO));
    assertThrows(IllegalStateException.class, neverStarted::start);
  }

  @Test
  void aThreadFactoryThatReturnsNullFailsTheStart() {
    Reconnector<FakeConnection> r = builder(new ScriptedConnector()).threadFactory(task -> null).build();
    assertThrows(IllegalStateException.class, r::start);
    assertEquals(State.CLOSED, r.state());
  }

  @Test
  void aThrowingListenerDoesNotStopTheLoop() throws Exception {
    ScriptedConnector connector = new ScriptedConnector(new IOException("refused"));
    CountDownLatch connected = new CountDownLatch(1);
    reconnector = Reconnector.<FakeConnection>builder(connector).ticker(clock).sleeper(clock)
        .threadFactory(recordingFactory).initialSpread(Duration.ZERO).backoff(TestBackoffs.constant(SECOND))
        .listener(e -> {
          if (e.state() == State.CONNECTED) {
            connected.countDown();
          }
          throw new IllegalStateException("broken listener");
        }).build();
    reconnector.start();
    awaitWait(0);
    passWait(1);
    assertTrue(connected.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS));
    assertNotNull(reconnector.connection().orElse(null));
  }

  @Test
  void badConfigurationFailsAtBuildTimeNamingTheValue() {
    Reconnector.Builder<FakeConnection> b = Reconnector.builder(new ScriptedConnector());
    assertEquals("initialSpread must be zero or positive: PT-1S",
        assertThrows(IllegalArgumentException.class, () -> b.initialSpread(Duration.ofSeconds(-1))).getMessage());
    assertEquals("stableAfter must be zero or positive: PT-0.001S",
        assertThrows(IllegalArgumentException.class, () -> b.stableAfter(Duration.ofMillis(-1))).getMessage());
    assertThrows(IllegalArgumentException.class, () -> b.retryAfterSpread(Double.NaN));
    assertThrows(IllegalArgumentException.class, () -> b.retryAfterMinJitter(Duration.ofSeconds(-1)));
    assertThrows(IllegalArgumentException.class, () -> b.maxRetryAfter(Duration.ofSeconds(-1)));
    assertThrows(IllegalArgumentException.class, () -> b.name("  "));
    assertEquals("connectTimeout must be zero or positive: PT-1S",
        assertThrows(IllegalArgumentException.class, () -> b.connectTimeout(Duration.ofSeconds(-1))).getMessage());
    assertEquals("slotJitter must be zero or positive: PT-0.001S",
        assertThrows(IllegalArgumentException.class, () -> b.slotJitter(Duration.ofMillis(-1))).getMessage());
    assertThrows(NullPointerException.class, () -> b.scheduler(null));
    assertThrows(NullPointerException.class, () -> b.backoff(null));
    assertThrows(NullPointerException.class, () -> Reconnector.builder(null));
  }

  /** Takes states from the queue up to and including {@code last}. */
  private List<State> drainUntil(State last) throws InterruptedException {
    List<State> seen = new ArrayList<>();
    while (true) {
      State s = states.poll(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
      if (s == null) {
        fail("no " + last + " after " + seen);
      }
      seen.add(s);
      if (s == last) {
        return seen;
      }
    }
  }
}
