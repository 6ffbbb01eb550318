package dev.shepherd.bulkhead;

import dev.shepherd.core.Deadline;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Ticker;
import dev.shepherd.core.internal.Checks;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * A concurrency limit with a queue that never starts work for a caller who has left: each call
 * brings its {@link Deadline}, and work whose deadline has passed (optionally: work that could not
 * finish before it, given the measured service time) is dropped instead of started.
 *
 * <pre>{@code
 * DeadlineGuard guard = DeadlineGuard.builder().name("auth-db").maxConcurrent(16).maxQueue(256).build();
 * Deadline deadline = Deadline.fromHeaderValue(request.header(Deadline.HEADER), Ticker.system());
 * Verdict v = guard.call(deadline, () -> database.check(device, secret));  // DeadlineExceededException if late
 * }</pre>
 *
 * <p><b>Why.</b> Under overload a queue in front of a database grows until the work at its head is
 * older than the callers' patience: the database then spends all its capacity on answers nobody
 * reads, while the callers retry and refill the queue. Dropping work whose caller has left ends
 * that loop (a metastable failure); serving the newest first makes the work done the work most
 * likely to be still wanted.
 *
 * <p><b>How.</b> At most {@code maxConcurrent} calls run at once. A call that finds a permit free
 * and nobody queued starts at once; otherwise it waits in a queue of at most {@code maxQueue}.
 * Whenever a permit frees up the guard takes the next queued call in its {@link Order} and, before
 * starting it, drops it if its deadline has passed (or, with {@link
 * Builder#dropIfCannotFinish(boolean)}, if the time left is less than the smoothed service time).
 * Queued calls whose deadline passes are also dropped from the oldest end whenever a call is
 * queued, and a waiting thread gives up by itself at its deadline.
 *
 * <p><b>Guarantees.</b>
 * <ul>
 *   <li>Never more than {@code maxConcurrent} calls run at once; never a lost or invented permit,
 *       whatever the action does (throws, returns a stage that fails, throws from
 *       {@code whenComplete}) and whatever the caller does (cancels or completes the stage,
 *       interrupts the thread).
 *   <li>No work starts after its deadline: the deadline is checked immediately before the action
 *       is invoked (a call that arrives late is refused at once, without being queued).
 *   <li>No work that had time is dropped: a call is dropped only when, at that instant, its
 *       deadline has passed, or (with {@code dropIfCannotFinish}) less time is left than the
 *       smoothed service time.
 *   <li>Arrivals do not overtake queued calls; among queued calls the {@link Order} decides.
 * </ul>
 *
 * <p><b>Failures.</b> A dropped call fails with {@link DeadlineExceededException}, a call refused
 * because the queue is full with {@link BulkheadFullException}; each is counted ({@link
 * #dropped()}, {@link #rejected()}) and reported to the listener as {@link Event.Kind#REJECTED}
 * (no event is built for the {@linkplain EventListener#noop() no-op listener}).
 *
 * <p><b>Cost.</b> A call that starts at once costs one read of its deadline's ticker, one
 * compare-and-set to take the permit and one atomic add to return it, with no lock and no
 * allocation in {@link #call(Deadline, Callable)}; {@code dropIfCannotFinish} adds two reads of
 * this guard's ticker and one volatile write. Queueing, dropping and refusing take a lock and may
 * allocate.
 *
 * <p><b>Asynchronous calls</b> ({@link #callAsync(Deadline, Supplier)}) queue without blocking
 * anyone. A queued one is started by whichever thread frees the permit (or is already starting
 * other queued calls), so the action should only <em>start</em> work and return its stage. Its
 * stage holds the permit as {@link Bulkhead#callAsync(Supplier)} does: released before the returned
 * stage completes, however it ends. A caller who ends the returned stage while the call is still
 * queued withdraws it.
 *
 * <p>Not a {@link dev.shepherd.core.Policy}: every call brings its own deadline. Thread-safe.
 */
public final class DeadlineGuard {

  /** The order in which queued calls are served when a permit frees up. */
  public enum Order {
    /** First in, first out: the call that has waited longest goes first. */
    OLDEST_FIRST,
    /**
     * Last in, first out: the call that arrived last goes first. Under overload its caller is the
     * one most likely to still be waiting; the oldest calls expire and are dropped at no cost.
     */
    NEWEST_FIRST
  }

  /*
   * Design note.
   *
   * Counting. inFlight is one int: a grant is a CAS that checks inFlight < maxConcurrent, a release
   * one getAndAdd(-1). Exact (no transient over-count, unlike PermitPool's add-first grant), because
   * the release must also decide whether to serve the queue and the proof below relies on every
   * write to inFlight being either a real grant or a release.
   *
   * Queue. An ArrayDeque guarded by a ReentrantLock (never synchronized: waiting virtual threads do
   * not pin), with its size mirrored in the volatile field queued. Every decision about a queued
   * node (grant, drop, withdrawal by its owner) is taken under that lock, and a node's state moves
   * out of WAITING exactly once, so a node is granted at most once and a node that was withdrawn is
   * never granted.
   *
   * No lost wake-up (the argument of PermitPool). A release does W(inFlight) then R(queued); an
   * enqueuer does W(queued) under the lock then R(inFlight) in drainLocked. Volatile accesses are
   * sequentially consistent, so either the enqueuer's drain sees the freed permit or the releaser
   * sees queued != 0 and drains under the lock after the enqueuer has finished. Arrivals take the
   * fast path only when queued == 0, so they do not overtake queued work (a racing arrival may be
   * ordered before a concurrent enqueue, which is benign: it arrived first).
   *
   * Starting outside the lock. Drops and grants are collected under the lock into a chain (the
   * nodes' own 'next' field, so nothing is allocated) and acted on after unlocking: a thread is
   * unparked, a stage failed, an asynchronous action started. Asynchronous starts go through a
   * trampoline (a queue and a flag): an action whose stage completes at once releases its permit
   * inside the start, which drains and starts the next one; without the trampoline that would
   * recurse once per queued call.
   *
   * Layout. inFlight, queued and the service time are written by calls on every thread; the
   * configuration every call reads is written once. They live in a separate object padded to its
   * own cache line (as PermitPool's word is), so a read of the configuration never misses because
   * another thread just released a permit, and the service-time write lands on the line the release
   * has just taken anyway.
   *
   * Service time. An exponentially weighted moving average (weight 1/8) of the time from start to
   * release on this guard's ticker, kept in one volatile long and updated without a CAS: two
   * concurrent updates may lose one sample, which is benign for an average of thousands.
   */

  static final int WAITING = 0;
  static final int GRANTED = 1;
  static final int DROPPED = 2;
  static final int WITHDRAWN = 3;
  static final int EVICTED = 4;
  /** An asynchronous call that was granted and has given its permit back. */
  static final int FINISHED = 5;

  /** How long a waiter parks at most between two reads of a ticker other than the system one. */
  private static final long TEST_TICKER_PARK_SLICE_NANOS = 1_000_000L;
  private static final VarHandle IN_FLIGHT;
  private static final VarHandle STATE;

  static {
    try {
      IN_FLIGHT = MethodHandles.lookup().findVarHandle(GuardCountersFields.class, "inFlight", int.class);
      STATE = MethodHandles.lookup().findVarHandle(Node.class, "state", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final String name;
  private final int maxConcurrent;
  private final int maxQueue;
  private final Order order;
  private final boolean dropIfCannotFinish;
  private final Ticker ticker;
  private final EventListener listener;
  private final ReentrantLock lock = new ReentrantLock();
  private final ArrayDeque<Node> queue = new ArrayDeque<>();
  private final ConcurrentLinkedQueue<Node> ready = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean dispatching = new AtomicBoolean();
  private final LongAdder dropped = new LongAdder();
  private final LongAdder rejected = new LongAdder();

  /** inFlight, queued and the service time, alone on their cache line; see the design note. */
  private final GuardCounters c = new GuardCounters();

  private DeadlineGuard(Builder b) {
    this.name = b.name;
    this.maxConcurrent = b.maxConcurrent;
    this.maxQueue = b.maxQueue;
    this.order = b.order;
    this.dropIfCannotFinish = b.dropIfCannotFinish;
    this.ticker = b.ticker;
    this.listener = EventListener.guarded(b.listener == null ? EventListener.logging() : b.listener);
  }

  /**
   * Returns a builder with the defaults: name {@code "deadline-guard"}, 25 concurrent calls, a queue
   * of 100, newest first, no dropping by service time, the system ticker, the logging listener.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns the instance's name.
   *
   * @return the name used in rejections, events and logs
   */
  public String name() {
    return name;
  }

  /**
   * Runs {@code action} holding a permit, if it can start before {@code deadline}: at once when a
   * permit is free and nobody is queued, otherwise after waiting in the queue (at most until the
   * deadline). The permit is released when the action returns or throws.
   *
   * @param deadline the caller's deadline
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws DeadlineExceededException if the work was dropped: its deadline passed (or, with
   *     {@code dropIfCannotFinish}, it could not have finished in time) before it started
   * @throws BulkheadFullException if the queue was full
   * @throws InterruptedException if the thread was interrupted while queued (it holds nothing), or
   *     {@code action} threw it
   * @throws Exception whatever {@code action} threw
   * @throws NullPointerException if {@code deadline} or {@code action} is null
   */
  public <T> T call(Deadline deadline, Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(deadline, "deadline");
    Objects.requireNonNull(action, "action");
    long remaining = deadline.remainingNanos();
    if (isDoomed(remaining)) {
      throw drop(deadline, remaining, "on arrival");
    }
    if (c.queued != 0 || !tryIncrement()) {
      awaitPermit(deadline);
    }
    long start = startOrRelease();
    try {
      return action.call();
    } finally {
      release(start, dropIfCannotFinish);
    }
  }

  /**
   * Starts an asynchronous action holding a permit, if it can start before {@code deadline}: at
   * once when a permit is free and nobody is queued, otherwise when a permit frees up and the call
   * is next in the queue's {@link Order}. Never blocks the caller.
   *
   * @param deadline the caller's deadline
   * @param action starts the guarded work and returns its stage
   * @param <T> the result type
   * @return a stage completing as the action's does; or failed with a {@link
   *     DeadlineExceededException} if the work was dropped, or a {@link BulkheadFullException} if
   *     the queue was full (the action is then not started)
   * @throws NullPointerException if {@code deadline} or {@code action} is null
   */
  public <T> CompletionStage<T> callAsync(Deadline deadline, Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(deadline, "deadline");
    Objects.requireNonNull(action, "action");
    long remaining = deadline.remainingNanos();
    if (isDoomed(remaining)) {
      return CompletableFuture.failedFuture(drop(deadline, remaining, "on arrival"));
    }
    AsyncNode<T> node = new AsyncNode<>(this, deadline, action);
    if (c.queued == 0 && tryIncrement()) {
      node.state = GRANTED;
      start(node);
    } else {
      enqueue(node);
    }
    return node.future;
  }

  /**
   * Returns the most calls that run at once.
   *
   * @return the configured limit
   */
  public int maxConcurrent() {
    return maxConcurrent;
  }

  /**
   * Returns the most calls that wait in the queue.
   *
   * @return the configured queue bound
   */
  public int maxQueue() {
    return maxQueue;
  }

  /**
   * Returns the order in which queued calls are served.
   *
   * @return the configured order
   */
  public Order order() {
    return order;
  }

  /**
   * Returns the number of calls running now.
   *
   * @return permits in flight
   */
  public int inFlight() {
    return c.inFlight;
  }

  /**
   * Returns the number of calls waiting in the queue now.
   *
   * @return queued calls
   */
  public int queued() {
    return c.queued;
  }

  /**
   * Returns how many calls were dropped because of their deadline, on arrival or from the queue.
   *
   * @return the total since the guard was built
   */
  public long dropped() {
    return dropped.sum();
  }

  /**
   * Returns how many calls were refused because the queue was full (with {@link
   * Order#NEWEST_FIRST}: how many of the oldest queued calls were pushed out by newer ones).
   *
   * @return the total since the guard was built
   */
  public long rejected() {
    return rejected.sum();
  }

  /**
   * Returns the smoothed service time: an exponentially weighted moving average (weight 1/8) of
   * the time from start to release of the calls that ran, measured on this guard's ticker.
   *
   * @return the estimate; {@link Duration#ZERO} before the first call finished, or when the guard
   *     does not {@linkplain Builder#dropIfCannotFinish(boolean) measure it}
   */
  public Duration serviceTime() {
    return Duration.ofNanos(c.serviceNanos);
  }

  @Override
  public String toString() {
    return "DeadlineGuard{" + name + ", inFlight=" + c.inFlight + "/" + maxConcurrent + ", queued=" + c.queued
        + "/" + maxQueue + ", " + order + ", dropped=" + dropped.sum() + ", rejected=" + rejected.sum() + "}";
  }

  // ---- Permits -----------------------------------------------------------------------------------

  private boolean tryIncrement() {
    int n = c.inFlight;
    while (n < maxConcurrent) {
      int witness = (int) IN_FLIGHT.compareAndExchange(c, n, n + 1);
      if (witness == n) {
        return true;
      }
      n = witness;
    }
    return false;
  }

  /** Reads the start time for a permit just granted; gives the permit back if the ticker throws. */
  private long startOrRelease() {
    if (!dropIfCannotFinish) {
      return 0L;
    }
    try {
      return ticker.read();
    } catch (Throwable brokenTicker) {
      release(0L, false);
      throw brokenTicker;
    }
  }

  /** Returns a permit; with {@code sample}, learns the service time from {@code startNanos}. */
  void release(long startNanos, boolean sample) {
    if (sample) {
      sample(startNanos);
    }
    IN_FLIGHT.getAndAdd(c, -1);
    if (c.queued != 0) {
      drain();
    }
  }

  private void sample(long startNanos) {
    long elapsed;
    try {
      elapsed = Math.max(0L, ticker.read() - startNanos);
    } catch (RuntimeException brokenTicker) {
      return; // costs the sample, never the permit
    }
    long s = c.serviceNanos;
    // This race is benign: a concurrent sample may be lost; see the design note.
    c.serviceNanos = s == 0 ? Math.max(1L, elapsed) : Math.max(1L, s + ((elapsed - s) >> 3));
  }

  private boolean isDoomed(long remainingNanos) {
    return remainingNanos <= 0 || dropIfCannotFinish && remainingNanos < c.serviceNanos;
  }

  // ---- The queue ---------------------------------------------------------------------------------

  /** Queues a waiting thread and parks it until it is granted, dropped, interrupted or late. */
  private void awaitPermit(Deadline deadline) throws InterruptedException {
    if (Thread.interrupted()) {
      throw new InterruptedException("interrupted before queueing for a permit");
    }
    ThreadNode node = new ThreadNode(deadline, Thread.currentThread());
    enqueue(node);
    long slice = deadline.ticker() == Ticker.system() ? Long.MAX_VALUE : TEST_TICKER_PARK_SLICE_NANOS;
    boolean interrupted = false;
    long remaining = 1;
    try {
      while (node.state == WAITING) {
        remaining = deadline.remainingNanos();
        if (remaining <= 0) {
          break;
        }
        LockSupport.parkNanos(this, Math.min(remaining, slice));
        if (Thread.interrupted()) {
          interrupted = true;
          break;
        }
      }
    } catch (Throwable brokenTicker) {
      withdraw(node);
      throw brokenTicker;
    }
    if (node.state == GRANTED && !interrupted) {
      remaining = deadline.remainingNanos();
      if (remaining > 0) {
        return;
      }
      release(0L, false); // granted in time, but late by the time this thread ran: hand it on
      throw drop(deadline, remaining, "before starting");
    }
    int state = withdraw(node);
    if (interrupted) {
      throw new InterruptedException("interrupted while queued for a permit");
    }
    if (state == DROPPED) {
      throw node.failure; // counted and reported by the thread that dropped it
    }
    if (state == EVICTED) {
      throw (BulkheadFullException) node.failure;
    }
    throw drop(deadline, remaining, "while queued");
  }

  /**
   * Withdraws a node its owner no longer wants, under the lock, and returns its final state: a node
   * still waiting leaves the queue; a node already granted gives its permit back.
   */
  private int withdraw(Node node) {
    int state;
    lock.lock();
    try {
      state = node.state;
      if (state == WAITING) {
        queue.remove(node);
        c.queued = queue.size();
        node.state = WITHDRAWN;
      }
    } finally {
      lock.unlock();
    }
    if (state == GRANTED) {
      release(0L, false);
    }
    return state;
  }

  private void enqueue(Node node) {
    Node out;
    lock.lock();
    try {
      out = purgeExpiredLocked(null);
      if (queue.size() >= maxQueue) {
        if (order == Order.NEWEST_FIRST && maxQueue > 0) {
          out = link(evict(queue.pollFirst()), out);
        } else {
          out = link(evict(node), out);
          node = null;
        }
      }
      if (node != null) {
        queue.addLast(node);
      }
      out = drainLocked(out);
    } finally {
      c.queued = queue.size();
      lock.unlock();
    }
    act(out);
  }

  private void drain() {
    Node out;
    lock.lock();
    try {
      out = drainLocked(null);
    } finally {
      c.queued = queue.size();
      lock.unlock();
    }
    act(out);
  }

  /** Drops queued calls that are already late from the oldest end, which in both orders waits longest. */
  private Node purgeExpiredLocked(Node out) {
    Node oldest;
    while ((oldest = queue.peekFirst()) != null) {
      long remaining = oldest.deadline.remainingNanos();
      if (remaining > 0) {
        break;
      }
      queue.pollFirst();
      out = link(oldest.dropped(remaining), out);
    }
    return out;
  }

  /** Serves the queue in order while permits are free, dropping calls that are doomed. Holds the lock. */
  private Node drainLocked(Node out) {
    for (;;) {
      Node next = order == Order.NEWEST_FIRST ? queue.peekLast() : queue.peekFirst();
      if (next == null) {
        return out;
      }
      long remaining = next.deadline.remainingNanos();
      if (isDoomed(remaining)) {
        removeNext();
        out = link(next.dropped(remaining), out);
        continue;
      }
      if (!tryIncrement()) {
        return out;
      }
      removeNext();
      next.state = GRANTED;
      out = link(next, out);
    }
  }

  /** Marks a node refused for want of room in the queue; under the lock, so its owner sees why. */
  private Node evict(Node node) {
    node.failure = new BulkheadFullException(name, maxConcurrent, Duration.ZERO);
    node.state = EVICTED;
    return node;
  }

  private void removeNext() {
    if (order == Order.NEWEST_FIRST) {
      queue.pollLast();
    } else {
      queue.pollFirst();
    }
  }

  private static Node link(Node node, Node chain) {
    node.next = chain;
    return node;
  }

  /** Acts, outside the lock, on the nodes decided under it: wake, fail or start them. */
  private void act(Node chain) {
    boolean startAsync = false;
    for (Node n = chain; n != null; ) {
      Node following = n.next;
      n.next = null;
      switch (n.state) {
        case DROPPED -> {
          dropped.increment();
          report(n.failure);
          n.failed();
        }
        case EVICTED -> {
          rejected.increment();
          report(n.failure);
          n.failed();
        }
        default -> { // GRANTED
          if (n instanceof ThreadNode t) {
            LockSupport.unpark(t.thread);
          } else {
            ready.add(n);
            startAsync = true;
          }
        }
      }
      n = following;
    }
    if (startAsync) {
      dispatch();
    }
  }

  /** Starts ready asynchronous calls, one thread at a time, without recursion; see the design note. */
  private void dispatch() {
    while (!ready.isEmpty() && dispatching.compareAndSet(false, true)) {
      try {
        Node n;
        while ((n = ready.poll()) != null) {
          start((AsyncNode<?>) n);
        }
      } finally {
        dispatching.set(false);
      }
    }
  }

  /** Starts a granted asynchronous call, unless it became late or was ended by its caller. */
  private <T> void start(AsyncNode<T> node) {
    long remaining;
    try {
      remaining = node.deadline.remainingNanos();
    } catch (RuntimeException brokenTicker) {
      node.future.completeExceptionally(brokenTicker); // releases
      return;
    }
    if (remaining <= 0) {
      node.future.completeExceptionally(drop(node.deadline, remaining, "before starting")); // releases
      return;
    }
    if (dropIfCannotFinish) {
      try {
        node.startNanos = ticker.read();
        node.started = true;
      } catch (RuntimeException brokenTicker) {
        node.future.completeExceptionally(brokenTicker); // releases, without a sample
        return;
      }
    }
    node.future.start(node.action);
  }

  private DeadlineExceededException drop(Deadline deadline, long remaining, String when) {
    DeadlineExceededException e = dropException(deadline, remaining, when);
    dropped.increment();
    report(e);
    return e;
  }

  private DeadlineExceededException dropException(Deadline deadline, long remaining, String when) {
    String why = remaining <= 0
        ? "deadline passed " + Duration.ofNanos(-Math.max(remaining, -Long.MAX_VALUE)) + " ago"
        : String.format(Locale.ROOT, "cannot finish in time: %s left, service time %s",
            Duration.ofNanos(remaining), Duration.ofNanos(c.serviceNanos));
    return new DeadlineExceededException(name, "deadline guard '" + name + "' dropped a call " + when + ": " + why);
  }

  private void report(RuntimeException e) {
    if (listener != EventListener.noop()) {
      listener.onEvent(Event.rejected(name, Duration.ZERO, 1, e.getMessage(), e));
    }
  }

  // ---- Nodes -------------------------------------------------------------------------------------

  /**
   * A queued call. {@code state} leaves WAITING once, under the guard's lock; an asynchronous call
   * then moves from GRANTED to FINISHED once, by compare-and-set.
   */
  abstract static class Node {
    final Deadline deadline;
    volatile int state;
    /** The failure of a dropped or evicted node, set before it is acted on. */
    RuntimeException failure;
    /** Links the chain of nodes decided under the lock; touched only by the thread holding it. */
    Node next;

    Node(Deadline deadline) {
      this.deadline = deadline;
    }

    /** Marks this node dropped (under the lock) and returns it. */
    abstract Node dropped(long remaining);

    /** Tells the node's owner it failed; outside the lock. */
    abstract void failed();
  }

  /** A thread parked in {@link #call(Deadline, Callable)}. */
  final class ThreadNode extends Node {
    final Thread thread;

    ThreadNode(Deadline deadline, Thread thread) {
      super(deadline);
      this.thread = thread;
    }

    @Override
    Node dropped(long remaining) {
      failure = dropException(deadline, remaining, "while queued");
      state = DROPPED;
      return this;
    }

    @Override
    void failed() {
      LockSupport.unpark(thread);
    }
  }

  /** A call of {@link #callAsync(Deadline, Supplier)}, queued or running. */
  static final class AsyncNode<T> extends Node {
    final DeadlineGuard guard;
    final Supplier<? extends CompletionStage<T>> action;
    final GuardFuture<T> future;
    /** When the action was started, on the guard's ticker; read only once {@link #started} is set. */
    long startNanos;
    volatile boolean started;

    AsyncNode(DeadlineGuard guard, Deadline deadline, Supplier<? extends CompletionStage<T>> action) {
      super(deadline);
      this.guard = guard;
      this.action = action;
      this.future = new GuardFuture<>(this);
    }

    @Override
    Node dropped(long remaining) {
      failure = guard.dropException(deadline, remaining, "while queued");
      state = DROPPED;
      return this;
    }

    @Override
    void failed() {
      future.completeExceptionally(failure);
    }

    /**
     * Ends the call: withdraws it if still queued; if granted, gives the permit back exactly once
     * (concurrent completions race on the state's compare-and-set; one wins).
     */
    void end() {
      int s = state;
      if (s == WAITING) {
        s = guard.withdrawQuietly(this);
      }
      if (s == GRANTED && STATE.compareAndSet(this, GRANTED, FINISHED)) {
        boolean sample = started;
        guard.release(sample ? startNanos : 0L, sample);
      }
    }
  }

  /** Like {@link #withdraw(Node)}, for an asynchronous node: the permit, if any, is given back by the caller. */
  private int withdrawQuietly(Node node) {
    lock.lock();
    try {
      int state = node.state;
      if (state == WAITING) {
        queue.remove(node);
        c.queued = queue.size();
        node.state = WITHDRAWN;
      }
      return state;
    } finally {
      lock.unlock();
    }
  }

  /** The stage of an asynchronous call: its every completion first ends the call. */
  static final class GuardFuture<T> extends AsyncCalls.ReleasingFuture<T> {
    private final AsyncNode<T> node;

    GuardFuture(AsyncNode<T> node) {
      super(null);
      this.node = node;
    }

    @Override
    void release(int outcome) {
      node.end();
    }
  }

  /**
   * Builds a {@link DeadlineGuard}. Each setter validates its argument at once. Not thread-safe; the
   * built guard does not change when the builder is reused.
   */
  public static final class Builder {
    private String name = "deadline-guard";
    private int maxConcurrent = 25;
    private int maxQueue = 100;
    private Order order = Order.NEWEST_FIRST;
    private boolean dropIfCannotFinish;
    private Ticker ticker = Ticker.system();
    private EventListener listener;

    private Builder() {}

    /**
     * Sets the instance's name, used in rejections, events and logs.
     *
     * @param name a non-blank name; default {@code "deadline-guard"}
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Sets the most calls that run at once.
     *
     * @param maxConcurrent at least 1; default 25
     * @return this builder
     * @throws IllegalArgumentException if {@code maxConcurrent < 1}
     */
    public Builder maxConcurrent(int maxConcurrent) {
      this.maxConcurrent = Checks.positive(maxConcurrent, "maxConcurrent");
      return this;
    }

    /**
     * Sets the most calls that wait in the queue. When it is full, a new call is refused with
     * {@link BulkheadFullException}; with {@link Order#NEWEST_FIRST} the oldest queued call is
     * refused instead and the new one queued.
     *
     * @param maxQueue zero (no queue: refuse when all permits are taken) or more; default 100
     * @return this builder
     * @throws IllegalArgumentException if {@code maxQueue < 0}
     */
    public Builder maxQueue(int maxQueue) {
      this.maxQueue = Checks.atLeast(maxQueue, 0, "maxQueue");
      return this;
    }

    /**
     * Sets the order in which queued calls are served.
     *
     * @param order default {@link Order#NEWEST_FIRST}: under overload the newest caller is the one
     *     most likely to still be waiting, and the oldest expire and are dropped for free
     * @return this builder
     * @throws NullPointerException if {@code order} is null
     */
    public Builder order(Order order) {
      this.order = Objects.requireNonNull(order, "order");
      return this;
    }

    /**
     * Sets whether to drop, before starting it, a call with less time left than the smoothed
     * service time (see {@link DeadlineGuard#serviceTime()}), which would most likely answer after
     * its caller left. Off by default: then only calls whose deadline has passed are dropped.
     *
     * @param dropIfCannotFinish {@code true} to measure the service time and drop by it
     * @return this builder
     */
    public Builder dropIfCannotFinish(boolean dropIfCannotFinish) {
      this.dropIfCannotFinish = dropIfCannotFinish;
      return this;
    }

    /**
     * Sets the time source that measures the service time. Deadlines are read on their own
     * tickers.
     *
     * @param ticker the ticker; default {@link Ticker#system()}
     * @return this builder
     * @throws NullPointerException if {@code ticker} is null
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets the listener for drops and refusals; it is wrapped with {@link
     * EventListener#guarded(EventListener)}.
     *
     * @param listener the listener; default {@link EventListener#logging()}
     * @return this builder
     * @throws NullPointerException if {@code listener} is null
     */
    public Builder listener(EventListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Builds the guard.
     *
     * @return a new guard with all permits free and an empty queue
     */
    public DeadlineGuard build() {
      return new DeadlineGuard(this);
    }
  }
}

/** Padding before the guard's counters; see "Layout" in DeadlineGuard's design note. */
abstract class GuardCountersPadBefore {
  long p00, p01, p02, p03, p04, p05, p06, p07;
}

/** The contended counters of a {@link DeadlineGuard}. */
abstract class GuardCountersFields extends GuardCountersPadBefore {
  /** Permits in flight; accessed through a VarHandle for grants and releases. */
  volatile int inFlight;
  /** The queue's size; written under the guard's lock, read anywhere. */
  volatile int queued;
  /** Smoothed service time in nanoseconds; 0 until the first sample. */
  volatile long serviceNanos;
}

/** The counters, padded after too. */
final class GuardCounters extends GuardCountersFields {
  long p10, p11, p12, p13, p14, p15, p16, p17;
}
