package dev.shepherd.storm;

/**
 * What one strategy's run measured: per-second series and totals; immutable once built (the arrays
 * are shared, not copied: do not change them). Second {@code s} of a series covers simulated time
 * {@code [s, s + 1)} seconds after the drop (events after the last second count in the last).
 *
 * <p>The series to draw: {@link #attemptsPerSecond()} (attempts offered to the connect servers),
 * {@link #offeredPerSecond()} (authentications offered to the database), {@link #dbUsefulPerSecond()}
 * and {@link #dbWastedPerSecond()} (the database's work split by whether anyone read the answer),
 * {@link #queueDepthPerSecond()} and {@link #connectedPerSecond()}.
 *
 * @param name the strategy's name
 * @param hubs the fleet size
 * @param capacity the database's authentications per second at full speed
 * @param servers the connect servers behind the load balancer
 * @param attemptsPerSecond connection attempts offered to the connect servers in each second
 * @param databasePerSecond authentications the database completed in each second
 * @param offeredPerSecond authentications sent to the database in each second (its offered load)
 * @param rejectedPerSecond attempts refused in each second
 * @param connectedAtSecondEnd hubs connected at the end of each second
 * @param totalAttempts attempts offered over the whole run
 * @param databaseAuthentications authentications the database completed over the run
 * @param wastedAuthentications of those, the ones whose answer came after its hub had given up
 * @param rejected attempts refused by a server
 * @param cacheHits attempts answered without the database
 * @param peakQueue the most requests that waited in the database's queue at once
 * @param nanosTo50 nanoseconds until half the fleet was connected, or -1 if never
 * @param nanosTo99 nanoseconds until 99 % of the fleet was connected, or -1 if never
 * @param nanosTo100 nanoseconds until every hub was connected, or -1 if never
 * @param wastedPerSecond of {@code databasePerSecond}, the authentications whose answer came after
 *     its hub had given up, in each second
 * @param queuePerSecond the most requests waiting in the database's queue in each second
 * @param dropped requests the database's deadline guard dropped instead of starting
 * @param traceHash a 64-bit FNV-1a hash of every event the simulation handled, in order, with its
 *     time: equal for runs that went exactly the same way
 */
public record SimulationResult(
    String name,
    int hubs,
    int capacity,
    int servers,
    int[] attemptsPerSecond,
    int[] databasePerSecond,
    int[] offeredPerSecond,
    int[] rejectedPerSecond,
    int[] connectedAtSecondEnd,
    long totalAttempts,
    long databaseAuthentications,
    long wastedAuthentications,
    long rejected,
    long cacheHits,
    int peakQueue,
    long nanosTo50,
    long nanosTo99,
    long nanosTo100,
    int[] wastedPerSecond,
    int[] queuePerSecond,
    long dropped,
    long traceHash) {

  /**
   * Builds a result without the wasted-work and queue series (empty), drops (none) or trace (0),
   * for timelines measured elsewhere, such as a live fleet.
   *
   * @param name the strategy's name
   * @param hubs the fleet size
   * @param capacity the database's authentications per second at full speed
   * @param servers the connect servers
   * @param attemptsPerSecond attempts in each second
   * @param databasePerSecond database authentications completed in each second
   * @param offeredPerSecond authentications sent to the database in each second
   * @param rejectedPerSecond attempts refused in each second
   * @param connectedAtSecondEnd hubs connected at the end of each second
   * @param totalAttempts attempts over the run
   * @param databaseAuthentications authentications completed over the run
   * @param wastedAuthentications of those, the ones nobody read
   * @param rejected attempts refused
   * @param cacheHits attempts answered without the database
   * @param peakQueue the most requests queued at once
   * @param nanosTo50 nanoseconds until half the fleet was connected, or -1
   * @param nanosTo99 nanoseconds until 99 % was connected, or -1
   * @param nanosTo100 nanoseconds until every hub was connected, or -1
   */
  public SimulationResult(String name, int hubs, int capacity, int servers, int[] attemptsPerSecond,
      int[] databasePerSecond, int[] offeredPerSecond, int[] rejectedPerSecond, int[] connectedAtSecondEnd,
      long totalAttempts, long databaseAuthentications, long wastedAuthentications, long rejected, long cacheHits,
      int peakQueue, long nanosTo50, long nanosTo99, long nanosTo100) {
    this(name, hubs, capacity, servers, attemptsPerSecond, databasePerSecond, offeredPerSecond, rejectedPerSecond,
        connectedAtSecondEnd, totalAttempts, databaseAuthentications, wastedAuthentications, rejected, cacheHits,
        peakQueue, nanosTo50, nanosTo99, nanosTo100, new int[0], new int[0], 0L, 0L);
  }

  /**
   * Returns the database's useful work in each second: completed authentications whose answer its
   * hub still waited for ({@code databasePerSecond - wastedPerSecond}).
   *
   * @return a new array, one entry per second
   */
  public int[] dbUsefulPerSecond() {
    int[] useful = databasePerSecond.clone();
    for (int s = 0; s < Math.min(useful.length, wastedPerSecond.length); s++) {
      useful[s] -= wastedPerSecond[s];
    }
    return useful;
  }

  /**
   * Returns the database's wasted work in each second: completed authentications whose hub had
   * already given up.
   *
   * @return the series (shared: do not change it); empty for a result built without it
   */
  public int[] dbWastedPerSecond() {
    return wastedPerSecond;
  }

  /**
   * Returns the most requests waiting in the database's queue in each second.
   *
   * @return the series (shared: do not change it); empty for a result built without it
   */
  public int[] queueDepthPerSecond() {
    return queuePerSecond;
  }

  /**
   * Returns the hubs connected at the end of each second; the same as {@link #connectedAtSecondEnd()}.
   *
   * @return the series (shared: do not change it)
   */
  public int[] connectedPerSecond() {
    return connectedAtSecondEnd;
  }

  /**
   * Returns the database's useful work over the run: completed authentications someone read.
   *
   * @return {@code databaseAuthentications - wastedAuthentications}
   */
  public long usefulAuthentications() {
    return databaseAuthentications - wastedAuthentications;
  }

  /**
   * Returns the largest number of attempts offered in any one second.
   *
   * @return the peak
   */
  public int peakAttemptsPerSecond() {
    return max(attemptsPerSecond);
  }

  /**
   * Returns the largest number of authentications sent to the database in any one second.
   *
   * @return the peak offered load
   */
  public int peakOfferedPerSecond() {
    return max(offeredPerSecond);
  }

  /**
   * Returns how many hubs were connected when the run ended.
   *
   * @return the count
   */
  public int connectedAtEnd() {
    return connectedAtSecondEnd.length == 0 ? 0 : connectedAtSecondEnd[connectedAtSecondEnd.length - 1];
  }

  private static int max(int[] values) {
    int peak = 0;
    for (int value : values) {
      peak = Math.max(peak, value);
    }
    return peak;
  }
}
