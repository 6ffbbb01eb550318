package dev.shepherd.storm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The storm's story at a small scale, asserted with margins: 5,000 hubs against a database of
 * 100/s, the same 50 seconds of work per fleet as the default 100,000 against 2,000/s.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StormOutcomeTest {

  private static final StormConfig SMALL = new StormConfig(5_000, 100, 42L, 1_800, 10_000_000_000L);
  private static final Simulation.Progress SILENT = new Simulation.Progress() {
    @Override
    public void update(int strategy, int percent) {}

    @Override
    public void done(int strategy, long nanos) {}
  };

  private static List<SimulationResult> results;

  @BeforeAll
  static void simulate() {
    results = Simulation.runAll(SMALL, Strategies.all(), SILENT);
  }

  private static SimulationResult result(String prefix) {
    return results.stream().filter(r -> r.name().startsWith(prefix)).findFirst().orElseThrow();
  }

  @Test
  void immediateRetryPeaksAtLeastTenTimesHigherThanTheProtectedFleet() {
    int storm = result("1 ").peakAttemptsPerSecond();
    int calm = result("5 ").peakAttemptsPerSecond();
    assertTrue(storm >= 10 * calm, "no-backoff peak " + storm + " vs protected peak " + calm);
  }

  @Test
  void theProtectedFleetNeedsAtMostOneDatabaseAuthenticationPerDeviceAndWastesNone() {
    SimulationResult calm = result("5 ");
    assertTrue(calm.databaseAuthentications() <= SMALL.hubs(),
        "database authentications " + calm.databaseAuthentications());
    assertEquals(0, calm.wastedAuthentications(), "an answer came too late");
  }

  @Test
  void theProtectedFleetIsBackWithinTwoMinutes() {
    long all = result("5 ").nanosTo100();
    assertTrue(all > 0 && all < 120_000_000_000L, "every hub back after " + all + " ns");
  }

  @Test
  void fullJitterReaches99PercentWellBeforeExponentialBackoffWithoutJitter() {
    long jitter = result("3 ").nanosTo99();
    long plain = result("2 ").nanosTo99();
    assertTrue(jitter > 0, "full jitter never reached 99 %");
    // "Never" (-1) is later than any time; otherwise full jitter must win by a fifth at least.
    assertTrue(plain < 0 || jitter * 1.2 < plain, "full jitter " + jitter + " ns, exponential " + plain + " ns");
  }

  @Test
  void immediateRetryCollapsesAndNeverRecovers() {
    SimulationResult storm = result("1 ");
    assertEquals(-1, storm.nanosTo50(), "immediate retry recovered");
    assertEquals(SMALL.hubs(), storm.peakAttemptsPerSecond(), "the whole fleet came back in one second");
    // The database works flat out, and almost all of it is wasted on hubs that already gave up.
    assertTrue(storm.wastedAuthentications() > 0.9 * storm.databaseAuthentications());
  }

  @Test
  void theSameSeedGivesTheSameTableTwice() {
    List<SimulationResult> again = Simulation.runAll(SMALL, Strategies.all(), SILENT);
    assertEquals(StormReport.table(results), StormReport.table(again));
    for (int i = 0; i < results.size(); i++) {
      assertArrayEquals(results.get(i).attemptsPerSecond(), again.get(i).attemptsPerSecond());
      assertArrayEquals(results.get(i).connectedAtSecondEnd(), again.get(i).connectedAtSecondEnd());
    }
  }

  @Test
  void anotherSeedGivesAnotherStorm() {
    StormConfig other = new StormConfig(5_000, 100, 43L, 1_800, 10_000_000_000L);
    List<SimulationResult> different = Simulation.runAll(other, Strategies.all(), SILENT);
    assertNotEquals(StormReport.table(results), StormReport.table(different));
  }
}
