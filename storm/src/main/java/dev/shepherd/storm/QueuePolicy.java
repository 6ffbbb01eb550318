package dev.shepherd.storm;

import java.util.Locale;

/**
 * How the simulated database's queue treats requests whose caller may have left; immutable.
 *
 * <ul>
 *   <li>{@link #unguarded()}: first in, first out, and every request is served, however late: the
 *       queue of the outage.
 *   <li>{@link #deadlineGuard(boolean, double)}: the queue is a real
 *       {@code dev.shepherd.bulkhead.DeadlineGuard} (one permit, unbounded queue) on the simulation's
 *       clock. Each request carries its hub's deadline (the attempt's start plus its timeout) less
 *       the time the answer needs to travel back to the hub, so a request the guard starts in time
 *       is answered in time unless the work itself overruns. Requests whose deadline has passed are
 *       dropped instead of started; {@code newestFirst} serves the latest arrival first.
 * </ul>
 *
 * <p>Dropping is not free in a real database (the request was parsed, a connection was woken): each
 * dropped request costs the database {@code dropCost} of one authentication's service time
 * ({@code 1 / C}), paid one drop after another from the moment it picks: the request it picks
 * next starts once they are paid, but a request that arrives meanwhile waits only for the drop in
 * hand (a worker that looks at its queue after every drop sees it; late requests are cleared for
 * free when a request arrives).
 *
 * @param guarded whether a deadline guard runs the queue
 * @param newestFirst with a guard, whether the newest request is served first (otherwise the oldest)
 * @param dropCost with a guard, the database time one dropped request costs, as a fraction of one
 *     authentication's service time, from 0 to 10
 */
public record QueuePolicy(boolean guarded, boolean newestFirst, double dropCost) {

  /**
   * Validates the policy.
   *
   * @param guarded whether a deadline guard runs the queue
   * @param newestFirst newest first (needs a guard)
   * @param dropCost the cost of a drop, 0 to 10 service times (0 without a guard)
   * @throws IllegalArgumentException if {@code dropCost} is out of range, or an unguarded queue is
   *     given an order or a cost
   */
  public QueuePolicy {
    StormConfig.check(dropCost >= 0 && dropCost <= 10, "dropCost", "between 0 and 10", dropCost);
    StormConfig.check(guarded || !newestFirst && dropCost == 0, "newestFirst and dropCost",
        "unset without a guard", newestFirst + ", " + dropCost);
  }

  /**
   * Returns the outage's queue: first in, first out, every request served.
   *
   * @return the policy
   */
  public static QueuePolicy unguarded() {
    return new QueuePolicy(false, false, 0.0);
  }

  /**
   * Returns a queue run by a deadline guard.
   *
   * @param newestFirst {@code true} to serve the newest request first, {@code false} the oldest
   * @param dropCost the database time one drop costs, in service times, 0 to 10
   * @return the policy
   * @throws IllegalArgumentException if {@code dropCost} is out of range
   */
  public static QueuePolicy deadlineGuard(boolean newestFirst, double dropCost) {
    return new QueuePolicy(true, newestFirst, dropCost);
  }

  /**
   * Returns the library's default guard: newest first, as {@code DeadlineGuard} defaults to, with
   * free drops.
   *
   * @return the policy
   */
  public static QueuePolicy shepherdDefault() {
    return deadlineGuard(true, 0.0);
  }

  /**
   * Returns a short description for row names: "FIFO", "guard, FIFO, drop 5 %", ...
   *
   * @return the label
   */
  public String label() {
    if (!guarded) {
      return "no guard";
    }
    return String.format(Locale.ROOT, "guard, %s, drop %s %%", newestFirst ? "newest-first" : "FIFO",
        dropCost * 100 == Math.rint(dropCost * 100) ? String.valueOf((long) (dropCost * 100))
            : String.valueOf(dropCost * 100));
  }
}
