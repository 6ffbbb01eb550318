package dev.shepherd.storm;

/**
 * What one strategy's run measured: per-second series and totals; immutable once built (the arrays
 * are shared, not copied: do not change them).
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
    long nanosTo100) {

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
