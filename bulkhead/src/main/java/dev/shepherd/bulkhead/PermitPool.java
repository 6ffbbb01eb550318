package dev.shepherd.bulkhead;

import dev.shepherd.core.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/*
 * How the pool stays exact, and why it is fast.
 *
 * State. One volatile long holds both numbers that matter: the limit in the high 32 bits and the
 * number of permits in flight in the low 32 bits. A grant on the fast path is one getAndAdd(+1) on
 * the whole word, which reads the limit and the count and increments the count in one atomic step,
 * so a grant is always linearized against the limit in force at that instant: a concurrent limit
 * change can never slip between the check and the increment (with two separate variables, a caller
 * could read the old, larger limit and then increment after the limit shrank). If the word says
 * "inFlight >= limit" the increment was a mistake and is undone by an ordinary release. A release
 * is one getAndAdd(-1).
 *
 * Why add first and check after. Under contention a compare-and-set loop (Semaphore's, and this
 * pool's until issue 13) fails whenever another thread wrote the word between its read and its CAS,
 * and each failure costs another round trip of the cache line; an unconditional add never fails,
 * so a grant is one round trip whatever the other threads do. The price: for the few nanoseconds
 * between a refused add and its undo, the count is one above the truth. That cannot cause a grant
 * above the limit (the count only over-states what is in flight, so "count < limit" still implies
 * "inFlight < limit"); it can make a concurrent arrival that meets the limit exactly be refused
 * while a permit is in fact free (at the edge of the limit, where that arrival could as well have
 * come a moment earlier and been refused); and it cannot lose a wake-up, because the undo is a
 * release: it reads the waiter count after its write, like every release (see below). The waiter
 * path still grants with an exact compare-and-set under the lock.
 * The pool counts what is in flight, never what is "available", so changing the limit is a CAS on
 * the high half alone: nothing is added or removed, no permit can be lost or invented, and when the
 * limit shrinks below inFlight the surplus simply drains as calls finish (no new grant succeeds
 * until inFlight < limit again).
 *
 * Waiters. Callers that may wait (maxWait > 0) and find the pool full enqueue a node in a FIFO
 * list guarded by a ReentrantLock (never synchronized, so virtual threads do not pin) and park.
 * Grants to waiters happen only in drainLocked(), under the lock: it takes a permit with the same
 * CAS as the fast path and marks the head node granted before unparking it. A waiter that gives up
 * (timeout or interrupt) takes the lock and looks at its node: if it is still queued it unlinks
 * itself and holds nothing; if it was granted in the meantime it hands the permit straight back
 * (decrement, then drain to the next waiter). Both decisions are made under the same lock as the
 * grant, so there is no interleaving in which a caller that reports "timed out" or "interrupted"
 * keeps a permit: the peer bug in which abandoned waiters slowly drain a bulkhead to zero
 * (failsafe-lib/failsafe#393) cannot happen.
 *
 * No lost wake-up. The releaser does W(state) [getAndAdd] then R(waiting); a new waiter does
 * W(waiting) [enqueue] then R(state) [drainLocked's CAS]. All four are volatile accesses, which are
 * sequentially consistent in Java, so at least one side sees the other's write: either the waiter's
 * own drain sees the freed permit and takes it, or the releaser sees waiting != 0 and drains under
 * the lock, which it can only acquire after the waiter has finished enqueueing. The same argument
 * covers a limit increase (W(state) by CAS, then R(waiting)). Hence the invariant: whenever no
 * thread is inside a release or a limit change, either the queue is empty or the pool is full.
 *
 * Fairness. In FIFO mode the fast path refuses while anyone is queued (one extra volatile read),
 * so arrivals do not overtake waiters; the race between that read and a concurrent enqueue is
 * benign: it only orders the arrival before the waiter, as AQS's hasQueuedPredecessors does.
 * Without fairness an arrival may take a just-freed permit before the woken waiter; the waiter then
 * stays queued at the head. Waiters are always served among themselves in FIFO order.
 *
 * Time. Deadlines are measured on the injected Ticker. Parking is in real time, so when the ticker
 * is not the system ticker (a ManualClock in tests) a waiter re-reads it at least every millisecond
 * of real time; with the system ticker it parks for exactly the remaining time.
 *
 * Layout. The word is written by every grant and release, from every thread; the fields every
 * grant reads (fair, the lock, the ticker) are written once. Sharing a cache line would make each
 * grant miss twice under contention (a read of "fair" after the other thread's write, then the
 * line again for the add), so the word and the waiter count sit alone on their line between two
 * 64-byte pads (the superclasses below: HotSpot lays out a superclass's fields first).
 *
 * Cost. Grant: one getAndAdd (plus one volatile read in FIFO mode). Refusal: two getAndAdds and a
 * volatile read. Release: one getAndAdd and one volatile read. No lock, no allocation, no logging
 * unless someone is waiting.
 */
/** The counting core shared by {@link Bulkhead} and {@link AdaptiveBulkhead}; thread-safe. */
final class PermitPool extends PermitPoolPadAfter {

  private static final VarHandle STATE;
  private static final long IN_FLIGHT_MASK = 0xFFFF_FFFFL;
  /** How long a waiter parks at most between two reads of a non-system ticker: one millisecond. */
  static final long TEST_TICKER_PARK_SLICE_NANOS = 1_000_000L;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(PermitPoolState.class, "state", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final String name;
  private final boolean fair;
  private final Ticker ticker;
  private final long parkSliceNanos;
  private final ReentrantLock lock = new ReentrantLock();
  private final LongAdder rejected = new LongAdder();

  private Waiter head;
  private Waiter tail;

  /**
   * The adaptive limit fed by this pool's permits, or null for a fixed bulkhead. Set once by
   * {@link #attach(AdaptiveLimit)} inside the owning bulkhead's constructor, before the bulkhead
   * (which holds this pool in a final field) is published, so every thread sees it.
   */
  private AdaptiveLimit adaptive;

  PermitPool(String name, int limit, boolean fair, Ticker ticker) {
    this.name = name;
    this.state = ((long) limit) << 32;
    this.fair = fair;
    this.ticker = ticker;
    this.parkSliceNanos = ticker == Ticker.system() ? Long.MAX_VALUE : TEST_TICKER_PARK_SLICE_NANOS;
  }

  void attach(AdaptiveLimit adaptive) {
    this.adaptive = adaptive;
  }

  String name() {
    return name;
  }

  /** The adaptive limit to report outcomes to, or null. */
  AdaptiveLimit adaptive() {
    return adaptive;
  }

  /** Returns the limit in force. */
  int limit() {
    return (int) (state >>> 32);
  }

  /** Returns the permits in flight (granted and not yet released). */
  int inFlight() {
    return (int) (state & IN_FLIGHT_MASK);
  }

  /** Returns how many more permits could be granted now: {@code max(0, limit - inFlight)}. */
  int available() {
    long s = state;
    return Math.max(0, (int) (s >>> 32) - (int) (s & IN_FLIGHT_MASK));
  }

  int waiting() {
    return waiting;
  }

  long rejected() {
    return rejected.sum();
  }

  boolean isFair() {
    return fair;
  }

  void countRejection() {
    rejected.increment();
  }

  /**
   * Takes a permit if one is free, without waiting.
   *
   * @return the number in flight just before this grant, or -1 if refused
   */
  int tryAcquire() {
    if (fair && waiting != 0) {
      return -1;
    }
    long before = (long) STATE.getAndAdd(this, 1L);
    int inFlight = (int) (before & IN_FLIGHT_MASK);
    if (inFlight < (int) (before >>> 32)) {
      return inFlight;
    }
    release(); // undo; a release, so a waiter refused meanwhile because of this add is served
    return -1;
  }

  /**
   * Takes a permit, waiting up to {@code timeoutNanos} on the ticker for one to free up.
   *
   * <p>The thread's interrupt status is only looked at when it would have to wait: a free permit is
   * granted to an interrupted thread, which keeps its interrupt status.
   *
   * @return the number in flight just before the grant, or -1 on timeout (holding nothing)
   * @throws InterruptedException if interrupted while waiting (holding nothing)
   */
  int acquire(long timeoutNanos) throws InterruptedException {
    int before = tryAcquire();
    if (before >= 0 || timeoutNanos <= 0) {
      return before;
    }
    if (Thread.interrupted()) {
      throw new InterruptedException("interrupted before waiting for a permit");
    }
    return await(timeoutNanos);
  }

  private int await(long timeoutNanos) throws InterruptedException {
    long start = ticker.read();
    Waiter node = new Waiter(Thread.currentThread());
    lock.lock();
    try {
      enqueue(node);
      drainLocked(); // a permit may have freed up since the fast path failed
    } finally {
      lock.unlock();
    }
    boolean interrupted = false;
    try {
      while (!node.granted) {
        long remaining = timeoutNanos - (ticker.read() - start);
        if (remaining <= 0) {
          break;
        }
        LockSupport.parkNanos(this, Math.min(remaining, parkSliceNanos));
        if (Thread.interrupted()) {
          interrupted = true;
          break;
        }
      }
    } catch (Throwable brokenTicker) {
      giveUp(node); // a ticker that throws must not leave a queued node to swallow a permit
      throw brokenTicker;
    }
    if (node.granted && !interrupted) {
      return node.inFlightAtGrant;
    }
    giveUp(node);
    if (interrupted) {
      throw new InterruptedException("interrupted while waiting for a permit");
    }
    return -1;
  }

  /** Withdraws a waiter, deciding under the lock that grants so the outcome is exact. */
  private void giveUp(Waiter node) {
    lock.lock();
    try {
      if (node.granted) {
        // Granted between our decision and now: hand it straight back (next waiter or pool).
        releaseLocked();
      } else {
        unlink(node);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns one permit. Callers guarantee one release per grant: {@link Permit} releases once, and
   * the {@code call} methods pair each grant with one release in a {@code finally}. So the count is
   * never zero here (asserted in tests), and a wait-free getAndAdd suffices.
   */
  void release() {
    long before = (long) STATE.getAndAdd(this, -1L);
    assert (before & IN_FLIGHT_MASK) != 0 : "release without a permit in flight";
    if (waiting != 0) {
      drain();
    }
  }

  /**
   * Sets the limit; in-flight permits are untouched (a shrink drains as calls finish).
   *
   * @return the previous limit
   */
  int setLimit(int newLimit) {
    long s = state;
    for (;;) {
      long next = ((long) newLimit << 32) | (s & IN_FLIGHT_MASK);
      long witness = (long) STATE.compareAndExchange(this, s, next);
      if (witness == s) {
        break;
      }
      s = witness;
    }
    int previous = (int) (s >>> 32);
    if (newLimit > previous && waiting != 0) {
      drain();
    }
    return previous;
  }

  private int tryIncrement() {
    long s = state;
    for (;;) {
      int inFlight = (int) (s & IN_FLIGHT_MASK);
      if (inFlight >= (int) (s >>> 32)) {
        return -1;
      }
      long witness = (long) STATE.compareAndExchange(this, s, s + 1);
      if (witness == s) {
        return inFlight;
      }
      s = witness;
    }
  }

  private void drain() {
    lock.lock();
    try {
      drainLocked();
    } finally {
      lock.unlock();
    }
  }

  private void releaseLocked() {
    long before = (long) STATE.getAndAdd(this, -1L);
    assert (before & IN_FLIGHT_MASK) != 0 : "give-back without a permit in flight";
    drainLocked();
  }

  /** Grants permits to queued waiters, head first, while the pool has room. Holds the lock. */
  private void drainLocked() {
    Waiter node;
    while ((node = head) != null) {
      int before = tryIncrement();
      if (before < 0) {
        return;
      }
      unlink(node);
      node.inFlightAtGrant = before;
      node.granted = true; // volatile write publishes inFlightAtGrant
      if (node.thread != Thread.currentThread()) {
        LockSupport.unpark(node.thread);
      }
    }
  }

  private void enqueue(Waiter node) {
    node.prev = tail;
    if (tail == null) {
      head = node;
    } else {
      tail.next = node;
    }
    tail = node;
    node.queued = true;
    waiting = waiting + 1;
  }

  private void unlink(Waiter node) {
    if (!node.queued) {
      return;
    }
    if (node.prev == null) {
      head = node.next;
    } else {
      node.prev.next = node.next;
    }
    if (node.next == null) {
      tail = node.prev;
    } else {
      node.next.prev = node.prev;
    }
    node.prev = null;
    node.next = null;
    node.queued = false;
    waiting = waiting - 1;
  }

  /** One parked caller. Links and {@code queued} are guarded by the lock. */
  private static final class Waiter {
    final Thread thread;
    volatile boolean granted;
    int inFlightAtGrant;
    Waiter prev;
    Waiter next;
    boolean queued;

    Waiter(Thread thread) {
      this.thread = thread;
    }
  }
}

/** Padding before the contended word; see "Layout" in PermitPool's design note. */
abstract class PermitPoolPadBefore {
  long p00, p01, p02, p03, p04, p05, p06, p07;
}

/** The contended state of a {@link PermitPool}, alone on its cache line. */
abstract class PermitPoolState extends PermitPoolPadBefore {
  /** limit << 32 | inFlight; see the design note. */
  volatile long state;
  /** Number of queued waiters; written under the lock, read anywhere. */
  volatile int waiting;
}

/** Padding after the contended word. */
abstract class PermitPoolPadAfter extends PermitPoolState {
  long p10, p11, p12, p13, p14, p15, p16, p17;
}
