package dev.shepherd.storm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The bounds the learned capacity must keep at a size where they mean something: 60,000 default
 * Reconnector hubs against a database of 2,000/s (N / C = 30 s) whose capacity nobody configured,
 * from a starting guess a tenth of it, right, or ten times it: every hub back within 1.3 × N / C,
 * at most 3.5 attempts a hub, no wasted database work. And a fail-over to half the capacity in the
 * middle of the drain: the admission follows within a few seconds, nothing is wasted.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LearnedCapacityTest {

  private static final int HUBS = 60_000;
  private static final int CAPACITY = 2_000;
  private static final long IDEAL = 30_000_000_000L;

  @ParameterizedTest(name = "guess {0} × C, {1} server(s), seed {2}")
  @CsvSource({"0.1, 1, 42", "1, 1, 42", "10, 1, 42", "0.1, 8, 7", "10, 8, 1234"})
  void theFleetIsBackWithinThirtyPercentOfTheIdealFromAnyStartingGuess(double guess, int servers, long seed) {
    StormConfig config = new StormConfig(HUBS, CAPACITY, servers, seed, 300, 10_000_000_000L);
    LearnedCapacity strategy = LearnedCapacity.startingAt(guess);
    SimulationResult r = Simulation.runAll(config, List.of(strategy), StormOutcomeTest.SILENT).get(0);

    assertTrue(r.nanosTo100() > 0 && r.nanosTo100() <= IDEAL * 13 / 10, "all back after " + r.nanosTo100());
    assertTrue(r.totalAttempts() <= HUBS * 35L / 10, "attempts " + r.totalAttempts());
    assertEquals(0, strategy.outcome().wasted(r), "work for departed callers");
    assertEquals(0, r.wastedAuthentications(), "no fail-over: no stand-ins either");
    assertTrue(r.rejected() > 0, "the storm was refused and spread by slots");
  }

  @Test
  void afterAFailoverToHalfTheCapacityTheAdmissionFollowsAndNothingIsWasted() {
    StormConfig config = new StormConfig(HUBS, CAPACITY, 8, 42, 300, 10_000_000_000L);
    LearnedCapacity strategy = LearnedCapacity.startingAt(1).withFailoverAt(Duration.ofSeconds(15));
    SimulationResult r = Simulation.runAll(config, List.of(strategy), StormOutcomeTest.SILENT).get(0);
    LearnedCapacity.Outcome outcome = strategy.outcome();

    // 15 s at C, then the other 30,000 hubs at C / 2: 45 s.
    long ideal = 45_000_000_000L;
    assertTrue(r.nanosTo100() > 0 && r.nanosTo100() <= ideal * 13 / 10, "all back after " + r.nanosTo100());
    assertTrue(outcome.admissionFollowedNanos() >= 0 && outcome.admissionFollowedNanos() <= 1_000_000_000L,
        "the learned rate fell to C / 2 after " + outcome.admissionFollowedNanos());
    assertTrue(outcome.recoveredNanos() >= 0 && outcome.recoveredNanos() <= 5_000_000_000L,
        "the queue drained after " + outcome.recoveredNanos());
    assertTrue(outcome.reissued() > 0, "tickets booked at the old rate were given new slots");
    assertEquals(0, outcome.wasted(r), "work for departed callers");
    assertTrue(r.totalAttempts() <= HUBS * 35L / 10, "attempts " + r.totalAttempts());
  }
}
