package dev.shepherd.storm;

/**
 * What a {@link Scenario} measured, as numbers to assert on, and whether the system
 * {@linkplain #recovers() recovered}. Immutable.
 *
 * <h2>Recovery, defined once</h2>
 * A scenario <b>recovers</b> when, within {@code 3 × N / C} after its trigger is
 * {@linkplain Trigger#removedAtNanos() removed} ({@code N} the fleet's clients, {@code C} the
 * database's capacity per second), every client is connected, and the database's goodput over that
 * recovery — from the removal to the instant the last client connected, in whole seconds — is at
 * least 90 % of the work it did: at most a tenth of its authentications were answers nobody read. (A
 * literal "90 % of capacity" cannot hold once every client is connected, when nobody asks for
 * anything; what it guards against is a database kept busy by work that helps no one.)
 *
 * @param scenario the scenario that ran
 * @param result everything the simulation measured, including the per-second series
 */
public record Outcome(Scenario scenario, SimulationResult result) {

  /** The share of the database's work during the recovery that must be useful: 90 %. */
  public static final double GOODPUT_SHARE = 0.90;
  /** The recovery window in units of {@code N / C}: 3. */
  public static final double WINDOW_IN_IDEALS = 3.0;

  /**
   * Returns {@code N / C}: the least time the database needs to authenticate every client once.
   *
   * @return nanoseconds
   */
  public long idealNanos() {
    return Math.round(1e9 * scenario.fleet().clients() / scenario.tier().capacity());
  }

  /**
   * Returns how long after the trigger's removal every client was connected.
   *
   * @return nanoseconds (0 if they were connected when it was removed), or -1 if never within the run
   */
  public long recoveryNanos() {
    long all = result.nanosTo100();
    return all < 0 ? -1 : Math.max(0, all - scenario.trigger().removedAtNanos());
  }

  /**
   * Returns the recovery time in units of {@link #idealNanos() N / C}.
   *
   * @return the ratio, or positive infinity if the fleet never recovered within the run
   */
  public double recoveryInIdeals() {
    long r = recoveryNanos();
    return r < 0 ? Double.POSITIVE_INFINITY : (double) r / idealNanos();
  }

  /**
   * Returns the share of the database's completed authentications during the recovery that someone
   * read; over the whole run if every client was never connected.
   *
   * @return from 0 to 1; 1 when the database did nothing
   */
  public double goodputShare() {
    int[] done = result.databasePerSecond();
    int[] wasted = result.dbWastedPerSecond();
    int from = (int) Math.min(done.length - 1, scenario.trigger().removedAtNanos() / 1_000_000_000L);
    int to = result.nanosTo100() < 0 ? done.length - 1
        : (int) Math.min(done.length - 1, result.nanosTo100() / 1_000_000_000L);
    long work = 0;
    long lost = 0;
    for (int s = from; s <= to; s++) {
      work += done[s];
      lost += wasted[s];
    }
    return work == 0 ? 1.0 : (double) (work - lost) / work;
  }

  /**
   * Returns whether the scenario recovered, as defined above.
   *
   * @return {@code true} if every client was connected within {@code 3 × N / C} of the trigger's
   *     removal and the database's goodput in that time was at least 90 % of its work
   */
  public boolean recovers() {
    long r = recoveryNanos();
    return r >= 0 && r <= WINDOW_IN_IDEALS * idealNanos() && goodputShare() >= GOODPUT_SHARE;
  }

  /**
   * Returns the connection attempts per client over the run.
   *
   * @return attempts divided by the fleet's size
   */
  public double attemptsPerClient() {
    return (double) result.totalAttempts() / scenario.fleet().clients();
  }

  /**
   * Returns the most authentications sent to the database in one second.
   *
   * @return the peak offered load
   */
  public int peakOfferedPerSecond() {
    return result.peakOfferedPerSecond();
  }

  /**
   * Returns the database's authentications whose answer came after its client had given up.
   *
   * @return the wasted work
   */
  public long wasted() {
    return result.wastedAuthentications();
  }

  /**
   * Returns the hash of the run's event trace; the same scenario and seed on the same JDK give the
   * same hash.
   *
   * @return the 64-bit trace hash
   */
  public long traceHash() {
    return result.traceHash();
  }
}
