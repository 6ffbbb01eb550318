package dev.shepherd.storm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The bounds Shepherd's defaults must keep, at a size where they mean something: 30,000 hubs against
 * a database of 1,000/s (N / C = 30 s), hubs that are default Reconnectors and servers with default
 * slot admission and cold caches, behind a load balancer that sends each attempt to a random server.
 * Nobody knows N. Every hub is back within 1.10 × N / C and 99 % within 1.05 × N / C, with at most
 * 2.1 attempts a hub, no wasted database work, and the database never offered more than C plus the
 * admissions' bursts in a second.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ShepherdDefaultsTest {

  private static final long IDEAL = 30_000_000_000L;

  @ParameterizedTest(name = "{0} server(s), fleet-wide {1}, seed {2}")
  @CsvSource({"1, false, 42", "8, false, 42", "8, true, 42", "8, false, 7"})
  void theFleetIsBackWithinATenthOfTheIdealWithTheDefaults(int servers, boolean fleetWide, long seed) {
    StormConfig config = new StormConfig(30_000, 1_000, servers, seed, 300, 10_000_000_000L);
    Strategy strategy = fleetWide ? Strategies.shepherdFleetWide() : Strategies.shepherd();
    SimulationResult r = Simulation.runAll(config, List.of(strategy), StormOutcomeTest.SILENT).get(0);

    assertTrue(r.nanosTo100() > 0 && r.nanosTo100() <= IDEAL * 110 / 100, "all back after " + r.nanosTo100());
    assertTrue(r.nanosTo99() <= IDEAL * 105 / 100, "99 % back after " + r.nanosTo99());
    assertTrue(r.totalAttempts() <= 30_000L * 21 / 10, "attempts " + r.totalAttempts());
    assertEquals(0, r.wastedAuthentications(), "work for departed callers");
    // Each admission's burst is a tenth of a second of its rate: 97 per second for the fleet.
    assertTrue(r.peakOfferedPerSecond() <= 1_000 + 97, "peak offered " + r.peakOfferedPerSecond());
    // And slots, not luck: without them (every refused hub told the same second) it cannot be this fast.
    assertTrue(r.rejected() > 0, "the storm was refused and spread by slots");
  }
}
