package dev.shepherd.storm;

import dev.shepherd.testing.ManualClock;
import java.util.random.RandomGenerator;

/**
 * One way for a fleet and its connect servers to come back after a drop, pluggable into the
 * {@link Simulation}: what each hub waits between attempts, and what a connect server does with an
 * attempt that reaches it.
 *
 * <p>Implementations plug in the library's real classes (its backoff schedules, token bucket,
 * bulkhead and caching authenticator); the simulation only supplies time, through the
 * {@link ManualClock} it advances from event to event, and the database those classes protect.
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

  /** The simulated database as the connect servers see it. */
  interface Database {
    /**
     * Sends one authentication for hub {@code hub} to the database, now. The request joins the
     * database's queue; if the run {@linkplain Run#observesDatabase() observes the database}, its
     * {@link Run#databaseAnswered(int)} is called when the request completes.
     *
     * @param hub the hub the request is for
     */
    void submit(int hub);
  }

  /** The behaviour of one run; called from the simulation thread only. */
  interface Run {

    /**
     * {@link #admit(int)}'s answer when the hub waits for the database: for the request the
     * server has just {@linkplain Database#submit(int) submitted} for this hub.
     */
    long TO_DATABASE = -1L;
    /**
     * {@link #admit(int)}'s answer when the server accepts at once (a cache hit), whether or not
     * it also sent the database a request in the background (a refresh).
     */
    long ACCEPTED = -2L;

    /**
     * Returns how long hub {@code hub} waits after noticing the drop before its first attempt.
     *
     * @param hub the hub's index
     * @return nanoseconds, zero or more
     */
    long firstAttemptDelayNanos(int hub);

    /**
     * Returns how long the hub waits after an attempt that timed out or failed.
     *
     * @param hub the hub's index
     * @return nanoseconds, zero or more
     */
    long retryDelayNanos(int hub);

    /**
     * Returns how long the hub waits after the server refused it with a retry-after hint.
     *
     * @param hub the hub's index
     * @param hintNanos the server's hint
     * @return nanoseconds, at least {@code hintNanos}
     */
    long retryAfterDelayNanos(int hub, long hintNanos);

    /**
     * Handles an attempt that reaches a connect server now. The server sends the database what it
     * needs through the {@link Database} given to {@link Strategy#start}.
     *
     * @param hub the hub's index
     * @return {@link #TO_DATABASE}, {@link #ACCEPTED}, or a rejection's retry-after hint in
     *     nanoseconds (zero or more)
     */
    long admit(int hub);

    /**
     * Returns whether {@link #databaseAnswered(int)} must be called; a run that holds nothing
     * while the database works says no and saves the simulation one event per request.
     *
     * @return {@code true} to be told when each database request completes
     */
    default boolean observesDatabase() {
      return false;
    }

    /**
     * Called, when {@link #observesDatabase()} says so, at the instant the database completes the
     * request an {@link #admit(int)} sent it, whether or not the hub still waits for the answer.
     *
     * @param hub the hub's index
     */
    default void databaseAnswered(int hub) {}
  }
}
