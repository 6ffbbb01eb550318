package dev.shepherd.backoff;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import dev.shepherd.core.Deadline;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.RejectedException;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/**
 * Keeps one long-lived connection up: connects, notices the loss, waits, connects again, until
 * {@linkplain #close() closed}.
 *
 * <pre>{@code
 * Reconnector<HubLink> link = Reconnector.builder(() -> HubLink.open(server))
 *     .initialSpread(Duration.ofSeconds(30))   // the whole fleet dropped at once: spread it
 *     .stableAfter(Duration.ofMinutes(1))
 *     .build();
 * link.start();
 * ...
 * link.close();                                // stops promptly, closes the live connection
 * }</pre>
 *
 * <h2>The loop</h2>
 * Every wait comes from a {@link ReconnectPlan.Session} of this reconnector's {@link #plan()}, the
 * pure state machine that holds all of its decisions (its javadoc has the exact rules):
 * <ol>
 *   <li>On {@link #start()}, and after every loss, it waits a delay drawn uniformly from
 *       {@code [0, initialSpread]} <em>before the first attempt</em>: when a server drops every
 *       client at once, they must not all come back at once.
 *   <li>It calls {@link Connector#connect(RejectedException)}, on a thread of its own, for at most
 *       {@code connectTimeout} (default 20 s, as gRPC's minimum connect deadline): a connect that
 *       hangs is interrupted and counts as failed, and the loop goes on without waiting for it (a
 *       connection it returns later is closed). If the attempt fails, it waits the
 *       {@link Backoff}'s next delay and tries again, for as long as it is open.
 *   <li>Once connected it waits for the connection's {@link Connection#closed()} stage. On loss, the
 *       backoff is reset only if the connection had stayed up for at least {@code stableAfter};
 *       otherwise (a flapping server) the wait after the loss is the larger of the spread draw and
 *       the backoff's next delay, so the backoff keeps growing.
 *   <li>A failure (of {@code connect()} or the loss cause) carrying a shared retry-after hint
 *       {@code h} (by default a {@link RejectedException} hint anywhere in the cause chain) makes
 *       the next wait at least a draw from {@code [h, h + max(h·retryAfterSpread,
 *       retryAfterMinJitter)]}, with {@code h} clamped to {@code maxRetryAfter}: never below the
 *       hint, as in {@link Retry} (the {@link RetryAfterJitter} rule).
 *   <li>A refusal whose hint is a {@linkplain RejectedException#isPersonalSlot() personal slot}
 *       {@code s} (a server that reserved this client its own time) makes the next wait a draw
 *       from {@code [s, s + slotJitter]} (default 100 ms), and does not grow the backoff. The next
 *       attempt's {@link Connector#connect(RejectedException)} is told that refusal, so it can
 *       present the slot's ticket (see {@link RefusalAwareConnector}).
 * </ol>
 *
 * <p><b>With a deadline</b> ({@link #start(Deadline)}): the caller needs a connection by then, and
 * the reconnector gives up on it at the deadline. No attempt starts at or after the deadline, and
 * no wait is started that would end at or after it: the loop gives up at once instead of sleeping
 * towards a deadline it cannot meet. Each connect's timeout is cut to the time left, and a
 * connection that comes back after the deadline anyway (a zero connect timeout cannot cut the
 * connect short) is closed. Giving up reports {@code GAVE_UP}, fails the stage {@code start}
 * returned with a {@link DeadlineExceededException} (its cause: the last attempt's failure, if
 * any) and closes the reconnector. The deadline bounds the wait for the <em>first</em> connection
 * only, the answer the caller waits for: once connected, later losses are reconnected as after
 * {@link #start()}.
 *
 * <p><b>States</b> ({@link #state()}, and events to the listener): {@code NEW} until started, then
 * {@code WAITING}, {@code CONNECTING}, {@code CONNECTED}, and finally {@code CLOSED}. The
 * {@linkplain Builder#listener(EventListener) event listener} receives {@code STATE_CHANGED} with
 * the typed states ({@link Event#previousState()}, {@link Event#state()}: values of {@link State}),
 * {@code RETRY} before each wait (its {@link Event#delay() delay}, and as {@link Event#attempt()
 * attempt} the number of connection attempts that failed since the last connection, 0 before the
 * first) and {@code FAILED} for a failed connect (its attempt number and cause) or a lost connection
 * (attempt 0, with the cause). {@link #connectAttempts()} counts every call of the connector.
 *
 * <p><b>Threading.</b> The loop runs on one thread created at {@link #start()} by the builder's
 * {@link ThreadFactory} (by default a daemon platform thread named {@code shepherd-reconnector-<name>};
 * a virtual-thread factory works too, since the loop blocks only in the {@link Sleeper}, in
 * {@code connect()} and on a {@link CompletableFuture}, never inside {@code synchronized}). Listeners
 * run on that thread; each {@code connect()} runs on a thread of its own from the same factory
 * (or on the loop's thread when the connect timeout is zero), and the connect timeout is measured
 * by the builder's {@link ScheduledExecutorService} (by default one shared daemon thread).
 * {@link #close()} is idempotent, callable from any thread (a listener included): it marks the
 * reconnector closed, interrupts the loop's thread (ending a wait at once) and a connect in
 * progress, and closes the live connection. The threads then exit; {@link
 * #awaitTermination(Duration)} waits for that. A connection that {@code connect()} returns after
 * {@code close()} or after its timeout is closed at once. Thread-safe.
 *
 * @param <C> the connection type
 */
public final class Reconnector<C extends Reconnector.Connection> implements AutoCloseable {

  /** The lifecycle of a {@link Reconnector}. */
  public enum State {
    /** Built, not yet started. */
    NEW,
    /** Waiting before the next connection attempt. */
    WAITING,
    /** Inside {@link Connector#connect()}. */
    CONNECTING,
    /** Holding a live connection. */
    CONNECTED,
    /** Closed for good; the loop has stopped or is stopping. */
    CLOSED
  }

  /**
   * A live connection, as far as the reconnector needs to know it.
   *
   * <p>{@link #closed()} reports the loss; {@link #close()} is called when the reconnector closes
   * (and after a loss, to release resources), so it must be idempotent.
   */
  public interface Connection {

    /**
     * Returns a stage that completes when this connection is lost or closed: normally for an
     * orderly close, exceptionally with the cause of a failure. A cause carrying a retry-after hint
     * (a {@link RejectedException}, say, for a server's "go away, come back in 30 s") is honoured.
     *
     * @return the stage; the same one every time
     */
    CompletionStage<?> closed();

    /**
     * Closes this connection; idempotent.
     *
     * @throws Exception if closing fails; the reconnector reports it and carries on
     */
    void close() throws Exception;
  }

  /**
   * Opens connections.
   *
   * @param <C> the connection type
   */
  @FunctionalInterface
  public interface Connector<C extends Connection> {

    /**
     * Opens a connection, blocking until it is up or has failed. Called on a thread of the
     * reconnector's; should respond to interruption, which is how {@link Reconnector#close()} and
     * the connect timeout cut it short.
     *
     * @return the live connection, never null
     * @throws Exception if the connection could not be opened; it will be retried
     */
    C connect() throws Exception;

    /**
     * Opens a connection, told the refusal that ended the previous attempt; the reconnector always
     * calls this method. The default ignores the refusal and calls {@link #connect()}; a
     * {@link RefusalAwareConnector} uses it, to present a personal slot's ticket, say.
     *
     * @param lastRefusal the first {@link RejectedException} with a retry-after in the cause chain
     *     of the previous attempt's failure (or of the lost connection's cause), or null when the
     *     previous attempt was not refused
     * @return the live connection, never null
     * @throws Exception if the connection could not be opened; it will be retried
     */
    default C connect(RejectedException lastRefusal) throws Exception {
      return connect();
    }
  }

  /**
   * A {@link Connector} that reads what the last refusal said: a server that reserved this client
   * a personal slot usually hands it a ticket to present when it comes back, and
   * {@code lastRefusal} is where the connector finds it (in the server's own rejection type, or an
   * {@link HttpRejectedException}'s headers).
   *
   * <pre>{@code
   * Reconnector.RefusalAwareConnector<HubLink> dial = lastRefusal -> HubLink.open(server, ticketOf(lastRefusal));
   * Reconnector<HubLink> link = Reconnector.builder(dial).build();
   * }</pre>
   *
   * @param <C> the connection type
   */
  @FunctionalInterface
  public interface RefusalAwareConnector<C extends Connection> extends Connector<C> {

    /**
     * Opens a connection, told the refusal that ended the previous attempt.
     *
     * @param lastRefusal the previous attempt's refusal, or null when it was not refused
     * @return the live connection, never null
     * @throws Exception if the connection could not be opened; it will be retried
     */
    @Override
    C connect(RejectedException lastRefusal) throws Exception;

    /**
     * Opens a connection as if the previous attempt had not been refused.
     *
     * @return the live connection, never null
     * @throws Exception if the connection could not be opened
     */
    @Override
    default C connect() throws Exception {
      return connect(null);
    }
  }

  private final Connector<? extends C> connector;
  private final String name;
  private final ReconnectPlan plan;
  private final ScheduledExecutorService scheduler;
  private final Ticker ticker;
  private final Sleeper sleeper;
  private final RandomGenerator random;
  private final ThreadFactory threadFactory;
  private final EventListener listener;

  private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
  private final AtomicReference<C> live = new AtomicReference<>();
  private final AtomicBoolean started = new AtomicBoolean();
  /** Completes with the first connection; fails when the loop ends before one (closed, or gave up). */
  private final CompletableFuture<C> firstConnection = new CompletableFuture<>();
  /** The deadline of the first connection, or null; set before the loop starts, read by its thread. */
  private volatile Deadline deadline;
  /** Why the reconnector gave up at its deadline, once it has; fails {@link #firstConnection} at the end. */
  private volatile DeadlineExceededException gaveUp;
  private final CountDownLatch terminated = new CountDownLatch(1);
  /** Threads of this reconnector still running: the loop (counted from start) and connect threads. */
  private final AtomicInteger running = new AtomicInteger(1);
  private volatile boolean closed;
  private volatile Thread worker;
  /** Connection attempts since the last connection; only the loop's thread writes it. */
  private int attempt;
  /** Every call of the connector; only the loop's thread writes it. */
  private volatile long connectAttempts;

  private Reconnector(Builder<C> b) {
    this.connector = b.connector;
    this.name = b.name;
    this.plan = new ReconnectPlan(
        b.backoff,
        Durations.toNanosSaturated(b.initialSpread),
        Durations.toNanosSaturated(b.stableAfter),
        Durations.toNanosSaturated(b.connectTimeout),
        new RetryHints(b.hintExtractor, b.retryAfterSpread, b.retryAfterMinJitter, b.maxRetryAfter, b.slotJitter));
    this.scheduler = b.scheduler;
    this.ticker = b.ticker;
    this.sleeper = b.sleeper;
    this.random = b.random;
    this.threadFactory = b.threadFactory != null ? b.threadFactory : defaultThreadFactory(b.name);
    this.listener = EventListener.guarded(b.listener == null ? EventListener.logging() : b.listener);
  }

  /**
   * Returns a builder for a reconnector around {@code connector}, with the defaults: name
   * {@code "reconnector"}, initial spread 5 s, stable after 30 s, full-jitter backoff from 1 s
   * doubling to 2 minutes, retry-after spread 0.2 with a 1 s minimum jitter and hints clamped to one
   * hour, personal slots kept with 100 ms of jitter, connect timeout 20 s, the system ticker and
   * sleeper, daemon platform threads, a shared daemon timer, the logging listener.
   *
   * @param connector opens the connections
   * @param <C> the connection type
   * @return a new builder
   * @throws NullPointerException if {@code connector} is null
   */
  public static <C extends Connection> Builder<C> builder(Connector<? extends C> connector) {
    return new Builder<>(Objects.requireNonNull(connector, "connector"));
  }

  /**
   * Draws the wait before the first attempt after a start or a loss: uniform on
   * {@code [0, spreadNanos]}, both ends included. Package-private so the fleet-spread proof can test
   * the exact draw without threads.
   *
   * @param random the source of the draw
   * @param spreadNanos the spread, zero or more
   * @return the delay in nanoseconds
   */
  static long initialDelayNanos(RandomGenerator random, long spreadNanos) {
    return ReconnectPlan.spreadDraw(random, spreadNanos);
  }

  /**
   * Returns the plan this reconnector follows: every wait it takes comes from a session of it. A
   * simulator runs the same plan on a simulated clock.
   *
   * @return the plan, immutable
   */
  public ReconnectPlan plan() {
    return plan;
  }

  /**
   * Starts the loop on a new thread from the thread factory; the first connection attempt follows
   * a wait drawn from {@code [0, initialSpread]}.
   *
   * @throws IllegalStateException if already started or closed, or the thread factory returned null
   */
  public void start() {
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("reconnector '" + name + "' is already started or closed");
    }
    startLoop();
  }

  /**
   * Starts the loop as {@link #start()} does, and gives up if it is not connected by {@code
   * deadline}: no attempt starts at or after the deadline, and no wait is started that would end
   * at or after it (see the class description). A deadline that has already passed is refused at
   * once: no thread is started, no connect is made, and the reconnector is closed.
   *
   * <pre>{@code
   * Reconnector<HubLink> link = Reconnector.builder(dial).initialSpread(Duration.ZERO).build();
   * link.start(Deadline.after(Duration.ofSeconds(10)))
   *     .whenComplete((connection, failure) -> {
   *       if (failure != null) {
   *         useLocalPath();                    // DeadlineExceededException: gave up, and closed
   *       }
   *     });
   * }</pre>
   *
   * @param deadline when the caller needs the first connection
   * @return a stage that completes with the first connection, or fails with a {@link
   *     DeadlineExceededException} when the reconnector gave up at the deadline, or with a {@link
   *     CancellationException} when it was closed (or its loop failed) before it connected
   * @throws IllegalStateException if already started or closed, or the thread factory returned null
   * @throws NullPointerException if {@code deadline} is null
   */
  public CompletionStage<C> start(Deadline deadline) {
    Objects.requireNonNull(deadline, "deadline");
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("reconnector '" + name + "' is already started or closed");
    }
    if (deadline.isExpired()) {
      threadEnded(); // no loop will run: nothing to wait for
      giveUp(deadline, 0, "deadline passed before the first attempt", null);
      close();
      firstConnection.completeExceptionally(gaveUp);
      return firstConnection;
    }
    this.deadline = deadline;
    startLoop();
    return firstConnection;
  }

  private void startLoop() {
    try {
      Thread thread = threadFactory.newThread(this::run);
      if (thread == null) {
        throw new IllegalStateException("thread factory of reconnector '" + name + "' returned null");
      }
      worker = thread;
      thread.start();
    } catch (RuntimeException | Error e) {
      worker = null;
      threadEnded(); // no loop will run: nothing to wait for
      close();
      throw e;
    }
  }

  /**
   * Returns the current state.
   *
   * @return the state; {@link State#CLOSED} for good once {@link #close()} was called
   */
  public State state() {
    return state.get();
  }

  /**
   * Returns the live connection, if there is one.
   *
   * @return the connection while {@link State#CONNECTED}, otherwise usually empty
   */
  public Optional<C> connection() {
    return Optional.ofNullable(live.get());
  }

  /**
   * Returns how many times this reconnector has called {@link Connector#connect()}, successful or
   * not, since it was built.
   *
   * @return the connection attempts so far
   */
  public long connectAttempts() {
    return connectAttempts;
  }

  /**
   * Returns this reconnector's name.
   *
   * @return the name given at build time
   */
  public String name() {
    return name;
  }

  /**
   * Stops reconnecting: interrupts a wait or a connect in progress, closes the live connection,
   * and lets the loop's thread exit. Returns without waiting for the thread (see {@link
   * #awaitTermination(Duration)}). Idempotent and thread-safe.
   */
  @Override
  public void close() {
    closed = true;
    if (started.compareAndSet(false, true)) {
      terminated.countDown(); // never started: there is no thread to wait for
    }
    changeState(State.CLOSED);
    Thread w = worker;
    if (w != null && w != Thread.currentThread()) {
      w.interrupt();
    }
    closeLive();
  }

  /**
   * Waits until the loop's thread has exited after {@link #close()} (or immediately if it never
   * started and is closed).
   *
   * @param timeout the longest time to wait
   * @return {@code true} if the thread has exited, {@code false} on timeout
   * @throws InterruptedException if the waiting thread is interrupted
   * @throws NullPointerException if {@code timeout} is null
   * @throws IllegalArgumentException if {@code timeout} is negative
   */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    Checks.nonNegative(timeout, "timeout");
    return terminated.await(Durations.toNanosSaturated(timeout), TimeUnit.NANOSECONDS);
  }

  private void run() {
    // Only this thread draws from the generator, so it needs no lock.
    RandomGenerator rnd = random != null ? random : ThreadLocalRandom.current();
    ReconnectPlan.Session session = plan.newSession(rnd);
    Deadline pending = deadline; // the first connection's deadline; null once connected or without one
    Throwable lastFailure = null;
    try {
      long wait = session.start(ticker.read());
      while (!closed) {
        if (pending != null && !waitEndsBefore(pending, wait, lastFailure)) {
          break;
        }
        if (!changeState(State.WAITING)) {
          break;
        }
        listener.onEvent(Event.retry(name, attempt, Duration.ofNanos(wait), "waiting before connecting", null));
        if (closed) {
          break; // closed by a listener on this thread, which close() does not interrupt
        }
        try {
          sleeper.sleep(Duration.ofNanos(wait));
        } catch (InterruptedException e) {
          if (closed) {
            break;
          }
          // a stray interrupt only ends the wait early; the flag is cleared, the loop goes on
        }
        long timeoutNanos = plan.connectTimeoutNanos();
        if (pending != null) {
          long remaining = pending.remainingNanos();
          if (remaining <= 0) { // the sleep overran the deadline: no attempt starts after it
            giveUp(pending, attempt, "deadline reached before attempt " + (attempt + 1), lastFailure);
            break;
          }
          timeoutNanos = timeoutNanos == 0 ? 0 : Math.min(timeoutNanos, remaining);
        }
        if (!changeState(State.CONNECTING)) {
          break;
        }
        C connection;
        attempt++;
        connectAttempts++; // this race is benign: only the loop's thread writes, readers see a recent count
        try {
          connection = connectOnce(session.lastRefusal(), timeoutNanos);
        } catch (Exception e) {
          if (closed) {
            break;
          }
          listener.onEvent(Event.failed(name, attempt, "connect failed", e));
          lastFailure = e;
          wait = session.connectFailed(ticker.read(), e);
          continue;
        }
        if (pending != null && pending.remainingNanos() <= 0) {
          closeQuietly(connection); // connected after the caller's deadline: the caller has left
          giveUp(pending, attempt, "attempt " + attempt + " connected after the deadline", lastFailure);
          break;
        }
        pending = null;
        lastFailure = null;
        long connectedAt = ticker.read(); // read before announcing CONNECTED: listeners may move time
        session.connected(connectedAt);
        attempt = 0;
        live.set(connection);
        if (closed || !changeState(State.CONNECTED)) {
          break; // close() raced with connect(): the finally block closes the connection
        }
        firstConnection.complete(connection);
        Throwable cause = awaitLoss(connection);
        if (closed) {
          break;
        }
        if (live.compareAndSet(connection, null)) {
          closeQuietly(connection);
        }
        long now = ticker.read();
        emit(Event.Kind.FAILED, 0, "connection lost after " + Duration.ofNanos(now - connectedAt), cause);
        wait = session.lost(now, cause);
      }
    } catch (RuntimeException | Error e) {
      emit(Event.Kind.FAILED, 0, "reconnector loop failed; closing", e);
      throw e;
    } finally {
      closed = true;
      changeState(State.CLOSED);
      closeLive();
      DeadlineExceededException late = gaveUp;
      firstConnection.completeExceptionally(late != null ? late
          : new CancellationException("reconnector '" + name + "' closed before it connected"));
      threadEnded();
    }
  }

  /**
   * Returns whether a wait of {@code waitNanos} ends before {@code deadline}; if not, gives up. A
   * wait that ends exactly at the deadline would leave no time for the attempt, so it gives up too.
   */
  private boolean waitEndsBefore(Deadline deadline, long waitNanos, Throwable lastFailure) {
    long remaining = deadline.remainingNanos();
    if (waitNanos < remaining) {
      return true;
    }
    giveUp(deadline, attempt, String.format(Locale.ROOT,
        "the wait of %s before attempt %d would end past the deadline (%s left)",
        Duration.ofNanos(waitNanos), attempt + 1, Duration.ofNanos(Math.max(0L, remaining))), lastFailure);
    return false;
  }

  /**
   * Reports giving up at the deadline and marks the reconnector closed; the caller then stops, and
   * the first connection's stage fails with the rejection once the reconnector is closed.
   */
  private void giveUp(Deadline deadline, int attempts, String detail, Throwable lastFailure) {
    closed = true;
    gaveUp = new DeadlineExceededException(name, "reconnector '" + name + "' gave up at its deadline ("
        + deadline + "): " + detail, lastFailure);
    listener.onEvent(Event.gaveUp(name, attempts, detail, lastFailure));
  }

  /**
   * Runs one connect, on a thread of its own for at most {@code timeoutNanos} (or on this thread
   * when it is zero). Returns the connection, or throws what the connect threw, a
   * {@link TimeoutException} when the timeout struck first, or {@link InterruptedException} once
   * closed. A connection the connect returns too late is closed by its thread.
   */
  private C connectOnce(RejectedException lastRefusal, long timeoutNanos) throws Exception {
    if (timeoutNanos == 0) {
      return Objects.requireNonNull(connector.connect(lastRefusal), "connector returned null");
    }
    CompletableFuture<C> result = new CompletableFuture<>();
    running.incrementAndGet(); // before start: the loop's own count keeps the total above zero
    Thread attempt;
    try {
      attempt = threadFactory.newThread(() -> connectInto(result, lastRefusal));
      if (attempt == null) {
        throw new IllegalStateException("thread factory of reconnector '" + name + "' returned null");
      }
      attempt.start();
    } catch (RuntimeException | Error e) {
      threadEnded();
      throw e;
    }
    ScheduledFuture<?> timer = (scheduler != null ? scheduler : Timer.INSTANCE).schedule(() -> {
      if (result.completeExceptionally(new TimeoutException(
          "connect of reconnector '" + name + "' timed out after " + Duration.ofNanos(timeoutNanos)))) {
        attempt.interrupt();
      }
    }, timeoutNanos, TimeUnit.NANOSECONDS);
    try {
      while (true) {
        try {
          return result.get();
        } catch (InterruptedException e) {
          if (closed) {
            if (!result.completeExceptionally(e) && !result.isCompletedExceptionally()) {
              // The connect handed its connection over just as close() struck: nobody will use it.
              closeQuietly(result.join());
            }
            attempt.interrupt();
            throw e;
          }
          // a stray interrupt is ignored: the attempt goes on until it ends or times out
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          if (cause instanceof Error) {
            throw (Error) cause;
          }
          throw cause instanceof Exception ? (Exception) cause : e;
        }
      }
    } finally {
      timer.cancel(false);
    }
  }

  /** The body of a connect thread: the connect, its result handed over, a late connection closed. */
  private void connectInto(CompletableFuture<C> result, RejectedException lastRefusal) {
    try {
      C connection;
      try {
        connection = Objects.requireNonNull(connector.connect(lastRefusal), "connector returned null");
      } catch (Exception | Error e) {
        result.completeExceptionally(e);
        return;
      }
      if (!result.complete(connection)) {
        closeQuietly(connection); // timed out or closed meanwhile: nobody will use it
      }
    } finally {
      threadEnded();
    }
  }

  /** One of this reconnector's threads has ended; the last one to end releases awaitTermination. */
  private void threadEnded() {
    if (running.decrementAndGet() == 0) {
      terminated.countDown();
    }
  }

  /** Blocks until {@code connection} reports its loss; returns the cause, or null for a clean close. */
  private Throwable awaitLoss(C connection) {
    CompletableFuture<Throwable> lost = new CompletableFuture<>();
    try {
      CompletionStage<?> stage = Objects.requireNonNull(connection.closed(), "closed() returned null");
      stage.whenComplete((value, failure) -> lost.complete(failure));
    } catch (RuntimeException e) {
      return e; // a connection that cannot report its loss is treated as lost
    }
    while (!closed) {
      try {
        return lost.get();
      } catch (InterruptedException e) {
        // close() interrupts; a stray interrupt is ignored and the wait goes on
      } catch (ExecutionException impossible) {
        return impossible.getCause(); // lost only completes normally
      }
    }
    return null;
  }

  /** Moves to {@code next} unless closed; reports a change. Returns false once closed (even by a listener). */
  private boolean changeState(State next) {
    State previous;
    do {
      previous = state.get();
      if (previous == State.CLOSED) {
        return false;
      }
    } while (!state.compareAndSet(previous, next));
    if (previous != next) {
      listener.onEvent(Event.stateChanged(name, previous, next, next.name()));
    }
    // A listener on the loop's thread may have called close(), which cannot interrupt that thread.
    return next != State.CLOSED && !closed;
  }

  private void closeLive() {
    C c = live.getAndSet(null);
    if (c != null) {
      closeQuietly(c);
    }
  }

  private void closeQuietly(C connection) {
    try {
      connection.close();
    } catch (Exception e) {
      emit(Event.Kind.FAILED, 0, "closing the connection failed", e);
    }
  }

  private void emit(Event.Kind kind, long delayNanos, String detail, Throwable cause) {
    listener.onEvent(new Event(name, kind, Duration.ofNanos(delayNanos), detail, cause));
  }

  /** The connect timeout's default timer: one lazily started daemon thread, shared. */
  private static final class Timer {
    static final ScheduledExecutorService INSTANCE = create();

    private static ScheduledExecutorService create() {
      ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, task -> {
        Thread t = new Thread(task, "shepherd-reconnector-timer");
        t.setDaemon(true);
        return t;
      });
      executor.setRemoveOnCancelPolicy(true);
      return executor;
    }
  }

  private static ThreadFactory defaultThreadFactory(String name) {
    return task -> {
      Thread t = new Thread(task, "shepherd-reconnector-" + name);
      t.setDaemon(true);
      return t;
    };
  }

  @Override
  public String toString() {
    return "Reconnector{name=" + name + ", state=" + state.get() + "}";
  }

  /**
   * Configures a {@link Reconnector}; validates each value as it is set. Not thread-safe.
   *
   * @param <C> the connection type
   */
  public static final class Builder<C extends Connection> {

    private final Connector<? extends C> connector;
    private String name = "reconnector";
    private Backoff backoff = Backoff.fullJitter(Duration.ofSeconds(1), Duration.ofMinutes(2));
    private Duration initialSpread = Duration.ofSeconds(5);
    private Duration stableAfter = Duration.ofSeconds(30);
    private Function<? super Throwable, Optional<Duration>> hintExtractor = RetryHints.DEFAULT_EXTRACTOR;
    private double retryAfterSpread = 0.2;
    private Duration retryAfterMinJitter = Duration.ofSeconds(1);
    private Duration maxRetryAfter = Duration.ofHours(1);
    private Duration slotJitter = Duration.ofMillis(100);
    private Duration connectTimeout = Duration.ofSeconds(20);
    private ScheduledExecutorService scheduler;
    private Ticker ticker = Ticker.system();
    private Sleeper sleeper = Sleeper.system();
    private RandomGenerator random;
    private ThreadFactory threadFactory;
    private EventListener listener;

    private Builder(Connector<? extends C> connector) {
      this.connector = connector;
    }

    /**
     * Names the reconnector in events, logs and its thread's name.
     *
     * @param name a non-blank name; default {@code "reconnector"}
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder<C> name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Sets the waits between failed attempts.
     *
     * @param backoff the backoff policy; default full jitter from 1 s doubling to 2 minutes
     * @return this builder
     * @throws NullPointerException if {@code backoff} is null
     */
    public Builder<C> backoff(Backoff backoff) {
      this.backoff = Objects.requireNonNull(backoff, "backoff");
      return this;
    }

    /**
     * Sets the spread of the wait before the first attempt after a start or a loss: uniform on
     * {@code [0, initialSpread]}. Zero connects at once (not recommended for fleets).
     *
     * @param initialSpread zero or more; default 5 s
     * @return this builder
     * @throws NullPointerException if {@code initialSpread} is null
     * @throws IllegalArgumentException if {@code initialSpread} is negative
     */
    public Builder<C> initialSpread(Duration initialSpread) {
      this.initialSpread = Checks.nonNegative(initialSpread, "initialSpread");
      return this;
    }

    /**
     * Sets how long a connection must stay up for the backoff to start afresh after its loss.
     *
     * @param stableAfter zero or more; default 30 s
     * @return this builder
     * @throws NullPointerException if {@code stableAfter} is null
     * @throws IllegalArgumentException if {@code stableAfter} is negative
     */
    public Builder<C> stableAfter(Duration stableAfter) {
      this.stableAfter = Checks.nonNegative(stableAfter, "stableAfter");
      return this;
    }

    /**
     * Sets how a failure's retry-after hint is read; see {@link Retry.Builder#hintExtractor}.
     *
     * @param hintExtractor maps a failure to the wait the server asked for
     * @return this builder
     * @throws NullPointerException if {@code hintExtractor} is null
     */
    public Builder<C> hintExtractor(Function<? super Throwable, Optional<Duration>> hintExtractor) {
      this.hintExtractor = Objects.requireNonNull(hintExtractor, "hintExtractor");
      return this;
    }

    /**
     * Sets the jitter above a hint {@code h} as a fraction of it: the wait is drawn from
     * {@code [h, h + max(h·spread, retryAfterMinJitter)]}.
     *
     * @param spread zero or more, finite; default 0.2
     * @return this builder
     * @throws IllegalArgumentException if {@code spread} is negative, NaN or infinite
     */
    public Builder<C> retryAfterSpread(double spread) {
      this.retryAfterSpread = Checks.inRange(spread, 0.0, Double.MAX_VALUE, "retryAfterSpread");
      return this;
    }

    /**
     * Sets the least jitter width above a hint.
     *
     * @param minJitter zero or more; default 1 s
     * @return this builder
     * @throws NullPointerException if {@code minJitter} is null
     * @throws IllegalArgumentException if {@code minJitter} is negative
     */
    public Builder<C> retryAfterMinJitter(Duration minJitter) {
      this.retryAfterMinJitter = Checks.nonNegative(minJitter, "retryAfterMinJitter");
      return this;
    }

    /**
     * Sets the largest hint honoured; longer hints are clamped to it.
     *
     * @param maxRetryAfter zero or more; default one hour
     * @return this builder
     * @throws NullPointerException if {@code maxRetryAfter} is null
     * @throws IllegalArgumentException if {@code maxRetryAfter} is negative
     */
    public Builder<C> maxRetryAfter(Duration maxRetryAfter) {
      this.maxRetryAfter = Checks.nonNegative(maxRetryAfter, "maxRetryAfter");
      return this;
    }

    /**
     * Sets the jitter above a personal slot {@code s} (a {@link RejectedException} that
     * {@linkplain RejectedException#isPersonalSlot() is one}): the wait is drawn from
     * {@code [s, s + slotJitter]}, whatever the slot's length, and the backoff does not grow. Keep
     * it well below the server's grace window, or the client misses its slot.
     *
     * @param slotJitter zero or more; default 100 ms
     * @return this builder
     * @throws NullPointerException if {@code slotJitter} is null
     * @throws IllegalArgumentException if {@code slotJitter} is negative
     */
    public Builder<C> slotJitter(Duration slotJitter) {
      this.slotJitter = Checks.nonNegative(slotJitter, "slotJitter");
      return this;
    }

    /**
     * Sets how long one connect may take: a connect still running then is interrupted and counts
     * as a failed attempt, and the loop goes on (a connection it returns later is closed). Each
     * connect then runs on a thread of its own from the thread factory. Zero runs the connect on
     * the loop's thread with no limit, as a connect that cannot hang may prefer.
     *
     * @param connectTimeout zero or more; default 20 s (gRPC's minimum connect deadline)
     * @return this builder
     * @throws NullPointerException if {@code connectTimeout} is null
     * @throws IllegalArgumentException if {@code connectTimeout} is negative
     */
    public Builder<C> connectTimeout(Duration connectTimeout) {
      this.connectTimeout = Checks.nonNegative(connectTimeout, "connectTimeout");
      return this;
    }

    /**
     * Sets the scheduler that measures the connect timeout; a test passes one driven by its
     * {@code ManualClock}. It is not shut down by the reconnector.
     *
     * @param scheduler the scheduler; default one shared daemon thread
     * @return this builder
     * @throws NullPointerException if {@code scheduler} is null
     */
    public Builder<C> scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Sets the time source that measures how long a connection stayed up.
     *
     * @param ticker the ticker; default {@link Ticker#system()}
     * @return this builder
     * @throws NullPointerException if {@code ticker} is null
     */
    public Builder<C> ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets how the loop waits; {@code ManualClock.blocking()} drives it in tests.
     *
     * @param sleeper the sleeper; must respond to interruption; default {@link Sleeper#system()}
     * @return this builder
     * @throws NullPointerException if {@code sleeper} is null
     */
    public Builder<C> sleeper(Sleeper sleeper) {
      this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
      return this;
    }

    /**
     * Sets the source of the initial spread, backoff jitter and hint jitter. Only the loop's thread
     * uses it; give each reconnector its own (for a reproducible fleet, split one seeded
     * {@link java.util.SplittableRandom}).
     *
     * @param random the generator; default {@link ThreadLocalRandom} on the loop's thread
     * @return this builder
     * @throws NullPointerException if {@code random} is null
     */
    public Builder<C> random(RandomGenerator random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    /**
     * Sets the factory of the loop's thread, one thread per {@link Reconnector#start()}.
     *
     * @param threadFactory the factory; default daemon platform threads named
     *     {@code shepherd-reconnector-<name>}
     * @return this builder
     * @throws NullPointerException if {@code threadFactory} is null
     */
    public Builder<C> threadFactory(ThreadFactory threadFactory) {
      this.threadFactory = Objects.requireNonNull(threadFactory, "threadFactory");
      return this;
    }

    /**
     * Sets the listener for {@code STATE_CHANGED}, {@code RETRY} and {@code FAILED} events; it is
     * {@linkplain EventListener#guarded(EventListener) guarded}. It is called on the thread that
     * changed the state (the loop's, or the one calling {@link Reconnector#close()}), in order for
     * each thread; a typed state is {@code (Reconnector.State) event.state()}.
     *
     * @param listener the listener; default {@link EventListener#logging()}
     * @return this builder
     * @throws NullPointerException if {@code listener} is null
     */
    public Builder<C> listener(EventListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Builds the reconnector, in state {@link State#NEW}; call {@link Reconnector#start()}.
     *
     * @return a new reconnector
     */
    public Reconnector<C> build() {
      return new Reconnector<>(this);
    }
  }
}
