package dev.shepherd.storm;

/**
 * What one strategy's run measured: per-second series and totals; immutable once built.
 *
 * @param name the strategy's name
 * @param hubs the fleet size
 * @param attemptsPerSecond connection attempts offered to the connect servers in each second
 * @param databasePerSecond authentications the database completed in each second
 * @param rejectedPerSecond attempts refused with a retry-after hint in each second
 * @param connectedAtSecondEnd hubs connected at the end of each second
 * @param totalAttempts attempts offered over the whole run
 * @param databaseAuthentications authentications the database completed over the run
 * @param wastedAuthentications of those, the ones whose hub had already given up
 * @param rejected attempts refused by admission control or the bulkhead
 * @param cacheHits attempts answered from the authentication cache without the database
 * @param nanosTo50 nanoseconds until half the fleet was connected, or -1 if never
 * @param nanosTo99 nanoseconds until 99 % of the fleet was connected, or -1 if never
 * @param nanosTo100 nanoseconds until every hub was connected, or -1 if never
 */
public record SimulationResult(
    String name,
    int hubs,
    int[] attemptsPerSecond,
    int[] databasePerSecond,
    int[] rejectedPerSecond,
    int[] connectedAtSecondEnd,
    long totalAttempts,
    long databaseAuthentications,
    long wastedAuthentications,
    long rejected,
    long cacheHits,
    long nanosTo50,
    long nanosTo99,
    long nanosTo100) {

  /**
   * Returns the largest number of attempts offered in any one second.
   *
   * @return the peak
   */
  public int peakAttemptsPerSecond() {
    int peak = 0;
    for (int value : attemptsPerSecond) {
      peak = Math.max(peak, value);
    }
    return peak;
  }

  /**
   * Returns how many hubs were connected when the run ended.
   *
   * @return the count
   */
  public int connectedAtEnd() {
    return connectedAtSecondEnd.length == 0 ? 0 : connectedAtSecondEnd[connectedAtSecondEnd.length - 1];
  }
}
