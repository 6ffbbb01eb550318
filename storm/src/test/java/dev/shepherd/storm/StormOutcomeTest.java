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

  static final StormConfig SMALL = new StormConfig(5_000, 100, 1, 42L, 1_800, 10_000_000_000L);
  static final Simulation.Progress SILENT = new Simulation.Progress() {
    @Override
    public void update(int strategy, int percent) {}

    @Override
    public void done(int strategy, long nanos) {}
  };

  private static List<SimulationResult> results;

  @BeforeAll
  static void simulate() {
    results = Simulation.runAll(SMALL, Strategies.all(SMALL), SILENT);
  }

  private static SimulationResult result(String prefix) {
    return results.stream().filter(r -> r.name().startsWith(prefix)).findFirst().orElseThrow();
  }

  @Test
  void theTableSeparatesTheCausesRowByRow() {
    assertEquals(List.of("1 outage: immediate retry", "2 backoff, no jitter", "3 full jitter",
        "4 full jitter + token bucket", "Shepherd (defaults)", "Shepherd, warm cache",
        "Shepherd, learned capacity (guess 0.1 × C)", "Shepherd, no slots",
        "Shepherd, no deadline guard", "Shepherd, no cache"), results.stream().map(SimulationResult::name).toList());
  }

  @Test
  void noShepherdRowEverDoesWorkWhoseAnswerComesAfterItsCallersDeadline() {
    for (SimulationResult r : results) {
      if (r.name().startsWith("Shepherd")) {
        assertEquals(0, r.wastedAuthentications(), r.name());
        assertEquals(SMALL.hubs(), r.connectedAtEnd(), r.name());
      }
    }
  }

  @Test
  void theWarmCacheSparesTheDatabaseAndNoCacheCostsAQueryPerAdmittedAttempt() {
    // One server: every hub comes back to the server whose cache holds it.
    assertEquals(0, result("Shepherd, warm").databaseAuthentications());
    assertEquals(result("Shepherd, no cache").totalAttempts() - result("Shepherd, no cache").rejected(),
        result("Shepherd, no cache").databaseAuthentications() + 0L);
  }

  @Test
  void thePerSecondSeriesAddUpToTheTotals() {
    for (SimulationResult r : results) {
      assertEquals(r.totalAttempts(), java.util.Arrays.stream(r.attemptsPerSecond()).asLongStream().sum(), r.name());
      assertEquals(r.wastedAuthentications(), java.util.Arrays.stream(r.dbWastedPerSecond()).asLongStream().sum());
      assertEquals(r.usefulAuthentications(), java.util.Arrays.stream(r.dbUsefulPerSecond()).asLongStream().sum());
      assertEquals(r.peakQueue(), java.util.Arrays.stream(r.queueDepthPerSecond()).max().orElse(0), r.name());
      assertEquals(r.connectedAtEnd(), r.connectedPerSecond()[r.connectedPerSecond().length - 1]);
    }
  }

  @Test
  void theOutageOffersTheWholeFleetInOneSecondAndShepherdNeverMoreThanCapacityPlusTheBurst() {
    assertEquals(SMALL.hubs(), result("1 ").peakOfferedPerSecond(), "the whole fleet in one second");
    // admission at 97 % of 100/s, a burst of a tenth of a second's admissions (9)
    int calm = result("Shepherd").peakOfferedPerSecond();
    assertTrue(calm <= 100 + 9, "Shepherd's peak database load " + calm);
  }

  @Test
  void shepherdNeedsOneDatabaseAuthenticationPerDeviceWastesNoneAndKeepsTheQueueShort() {
    SimulationResult calm = result("Shepherd");
    assertEquals(SMALL.hubs(), calm.databaseAuthentications(), "a cold cache: one authentication each");
    assertEquals(0, calm.wastedAuthentications(), "an answer came too late");
    assertTrue(calm.peakQueue() <= 20, "peak queue " + calm.peakQueue());
  }

  @Test
  void shepherdIsBackWithinATenthAboveTheIdealWithAtMostTwoAttemptsAHubAndABit() {
    SimulationResult calm = result("Shepherd");
    long ideal = 50_000_000_000L; // N / C
    assertTrue(calm.nanosTo100() > 0 && calm.nanosTo100() <= ideal * 110 / 100, "all back after " + calm.nanosTo100());
    assertTrue(calm.nanosTo99() <= ideal * 105 / 100, "99 % back after " + calm.nanosTo99());
    assertTrue(calm.totalAttempts() <= SMALL.hubs() * 21L / 10, "attempts " + calm.totalAttempts());
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
    assertTrue(storm.peakQueue() > 100 * 10, "more than the timeout's worth of work queued: " + storm.peakQueue());
  }

  @Test
  void theSameSeedGivesTheSameTableTwice() {
    List<SimulationResult> again = Simulation.runAll(SMALL, Strategies.all(SMALL), SILENT);
    assertEquals(StormReport.table(results), StormReport.table(again));
    assertEquals(StormReport.json(SMALL, results), StormReport.json(SMALL, again));
    for (int i = 0; i < results.size(); i++) {
      assertArrayEquals(results.get(i).attemptsPerSecond(), again.get(i).attemptsPerSecond());
      assertArrayEquals(results.get(i).connectedAtSecondEnd(), again.get(i).connectedAtSecondEnd());
    }
  }

  @Test
  void anotherSeedGivesAnotherStorm() {
    StormConfig other = SMALL.withSeed(43L);
    List<SimulationResult> different = Simulation.runAll(other, Strategies.all(other), SILENT);
    assertNotEquals(StormReport.table(results), StormReport.table(different));
  }

  @Test
  void theJsonHasEveryRowWithThePinnedFields() {
    String json = StormReport.json(SMALL, results);
    for (String field : new String[] {"strategy", "hubs", "capacity", "servers", "t50_s", "t99_s", "t100_s",
        "attempts", "refusals", "db_auths", "db_wasted", "peak_offered_per_s", "peak_queue"}) {
      int count = json.split("\"" + field + "\": ", -1).length - 1;
      assertEquals(results.size() + (List.of("hubs", "capacity", "servers").contains(field) ? 1 : 0), count, field);
    }
    assertTrue(json.contains("\"strategy\": \"1 outage: immediate retry\", \"hubs\": 5000, \"capacity\": 100, \"servers\": 1,"
        + " \"t50_s\": null, \"t99_s\": null, \"t100_s\": null"), json);
    assertTrue(json.contains("\"strategy\": \"Shepherd (defaults)\""), json);
  }
}
