package dev.shepherd.storm;

import dev.shepherd.testing.ManualClock;
import java.util.random.RandomGenerator;

/**
 * One way for a fleet and its connect servers to come back after a drop, pluggable into the
 * {@link Simulation}: what each hub waits between attempts, and what a connect server does with an
 * attempt that reaches it.
 *
 * <p>Implementations plug in the library's real classes (its reconnect plan, backoff schedules,
 * admission, caching authenticator); the simulation only supplies time, through the
 * {@link ManualClock} it advances from event to event, the load balancer's choice of server, and
 * the database those classes protect.
 */
public interface Strategy {

  /**
   * Returns a short name for the table and the chart legend.
   *
   * @return the name
   */
  String name();

  /**
   * Prepares one run: creates the per-hub and per-server state, on the given clock.
   *
   * @param config the storm's parameters
   * @param clock the simulation clock; the simulation advances it, strategies only read it
   * @param random this strategy's own seeded generator; every draw must come from it
   * @param database the simulated database, for the run's servers to send requests to
   * @return the behaviour of this run
   */
  Run start(StormConfig config, ManualClock clock, RandomGenerator random, Database database);

  /**
   * Returns how the database's queue treats requests whose hub may have left: part of the server
   * tier this strategy describes.
   *
   * @return {@link QueuePolicy#unguarded()} unless the strategy's servers add a deadline guard
   */
  default QueuePolicy databaseQueue() {
    return QueuePolicy.unguarded();
  }

  /** The simulated database as the connect servers see it. */
  interface Database {
    /**
     * Sends one authentication for hub {@code hub} to the database's queue, now. If the run
     * {@linkplain Run#observesDatabase() observes the database}, its
     * {@link Run#databaseAnswered(int, int)} is called when the request completes.
     *
     * @param hub the hub the request is for
     * @return the request's number among this hub's requests, from 1
     */
    int submit(int hub);
  }

  /** The behaviour of one run; called from the simulation thread only, at the clock's time. */
  interface Run {

    /** {@link #attempt(int, int)}'s answer when the server admits the hub at once (a cache hit). */
    int ACCEPTED = 0;
    /**
     * {@link #attempt(int, int)}'s answer when the hub waits for the database: for the request the
     * server has just {@linkplain Database#submit(int) submitted} for it, or, if it submitted none,
     * for the hub's latest request still in the database (one a cache shares).
     */
    int TO_DATABASE = 1;
    /** {@link #attempt(int, int)}'s answer when the server refuses the hub. */
    int REFUSED = 2;

    /**
     * Returns how long hub {@code hub} waits after noticing the drop before its first attempt.
     *
     * @param hub the hub's index
     * @return nanoseconds, zero or more
     */
    long firstAttemptDelayNanos(int hub);

    /**
     * Handles an attempt of hub {@code hub} that the load balancer sent to server {@code server}.
     *
     * @param hub the hub's index
     * @param server the server's index, from 0 to {@code servers - 1}
     * @return {@link #ACCEPTED}, {@link #TO_DATABASE} or {@link #REFUSED}
     */
    int attempt(int hub, int server);

    /**
     * Returns how long the hub waits after hearing the refusal of its last attempt (one round trip
     * after it).
     *
     * @param hub the hub's index
     * @return nanoseconds, zero or more
     */
    long refusedDelayNanos(int hub);

    /**
     * Returns how long the hub waits after giving up on an attempt at its timeout.
     *
     * @param hub the hub's index
     * @return nanoseconds, zero or more
     */
    long timedOutDelayNanos(int hub);

    /**
     * Called when the hub is connected, at the instant it hears so.
     *
     * @param hub the hub's index
     */
    default void connected(int hub) {}

    /**
     * Returns whether {@link #databaseAnswered(int, int)} must be called; a run that holds nothing
     * while the database works says no.
     *
     * @return {@code true} to be told when each database request completes
     */
    default boolean observesDatabase() {
      return false;
    }

    /**
     * Called, when {@link #observesDatabase()} says so, at the instant the database completes a
     * request, whether or not its hub still waits for the answer.
     *
     * @param hub the hub's index
     * @param request the request's number, as {@link Database#submit(int)} returned it
     */
    default void databaseAnswered(int hub, int request) {}

    /**
     * Called, when {@link #observesDatabase()} says so, at the instant the database's deadline guard
     * drops a request instead of starting it (its hub is not told: it finds out at its timeout).
     *
     * @param hub the hub's index
     * @param request the request's number, as {@link Database#submit(int)} returned it
     */
    default void databaseDropped(int hub, int request) {}
  }
}
