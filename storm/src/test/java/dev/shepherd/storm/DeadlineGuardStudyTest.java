package dev.shepherd.storm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 17 in the simulator: the outage's hubs (immediate retry) against a database whose queue adds
 * only the library's deadline guard, at N / C = 30 s (6,000 hubs, 200/s).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DeadlineGuardStudyTest {

  static final StormConfig CONFIG = new StormConfig(6_000, 200, 1, 42L, 300, 10_000_000_000L);
  private static final long IDEAL = 30_000_000_000L;
  private static List<SimulationResult> results;

  @BeforeAll
  static void simulate() {
    results = Simulation.runAll(CONFIG, Strategies.deadlineGuardStudy(), StormOutcomeTest.SILENT);
  }

  @Test
  void theStudyHasTheOutageAndBothOrdersAtThreeDropCosts() {
    assertEquals(7, results.size());
    assertEquals("1 outage: immediate retry", results.get(0).name());
    assertEquals("immediate retry, guard, newest-first, drop 20 %", results.get(6).name());
  }

  @Test
  void withoutTheGuardTheOutageNeverRecovers() {
    assertEquals(-1, results.get(0).nanosTo50());
  }

  @Test
  void newestFirstRecoversWithinAFifthAboveTheIdealAndWastesNothingWhateverADropCosts() {
    for (SimulationResult r : results.subList(4, 7)) {
      assertTrue(r.nanosTo100() > 0 && r.nanosTo100() <= IDEAL * 120 / 100, r.name() + ": " + r.nanosTo100());
      assertEquals(0, r.wastedAuthentications(), r.name());
      assertTrue(r.dropped() > 0, "the guard dropped the late work: " + r.name());
    }
  }

  @Test
  void firstInFirstOutRecoversButSlowsAsDropsCostMore() {
    List<SimulationResult> fifo = results.subList(1, 4);
    for (SimulationResult r : fifo) {
      assertTrue(r.nanosTo100() > 0, r.name() + " never recovered");
    }
    assertTrue(fifo.get(0).nanosTo100() < fifo.get(2).nanosTo100(),
        "free drops " + fifo.get(0).nanosTo100() + " ns, 20 % drops " + fifo.get(2).nanosTo100() + " ns");
  }

  @Test
  void aWaveThatExpiresAtOnceCostsTheWorkerOnlyTheDropsItMakesBeforeTheRetriesArrive() {
    // 30,000 hubs notice within 6 ms (5 million a second, as 1,000,000 hubs in 200 ms): each wave's
    // requests expire together 60 ms before their hubs retry, and the worker's next pick finds the
    // whole queue late. Charged as one block (20 % of 1 ms for each of ~20,000 drops) that pick
    // held the database for 4 s, the next wave expired behind it, and recovery took 1.42 x N / C.
    StormConfig config = new StormConfig(30_000, 1_000, 1, 42L, 200, 10_000_000_000L);
    Simulation.Setup wave = new Simulation.Setup(6_000_000L, 1.0, 1.0, 0L, Database.DEGRADATION);
    long ideal = 30_000_000_000L;
    for (double cost : new double[] {0.05, 0.20}) {
      Strategy strategy = Strategies.immediateRetry(QueuePolicy.deadlineGuard(true, cost));
      SimulationResult r = new Simulation(config, strategy, 0, wave).run(percent -> { });
      assertTrue(r.nanosTo100() > 0 && r.nanosTo100() <= ideal * 120 / 100, r.name() + ": " + r.nanosTo100());
      assertEquals(0, r.wastedAuthentications(), r.name());
      assertTrue(r.dropped() > config.hubs(), "whole waves were dropped: " + r.dropped());
    }
  }

  @Test
  void aTimeoutShorterThanTheReplysWayBackGetsEveryRequestDroppedAndNothingWasted() {
    // 50 ms to wait, 60 ms for an answer to travel back: the guard drops each request on arrival.
    StormConfig hopeless = new StormConfig(500, 200, 2, 42L, 60, 50_000_000L);
    SimulationResult r = Simulation.runAll(hopeless, List.of(Strategies.shepherd()), StormOutcomeTest.SILENT).get(0);
    assertEquals(0, r.connectedAtEnd());
    assertEquals(0, r.databaseAuthentications());
    assertTrue(r.dropped() > 0, "dropped " + r.dropped());
  }
}
