package dev.shepherd.storm;

import java.time.Duration;
import java.util.Objects;

/**
 * A proving ground: your fleet against a server tier, through a trigger, simulated deterministically
 * on a simulated clock, with an {@link Outcome} to assert on. Library tests never depend on this
 * module; your own tests may.
 *
 * <pre>{@code
 * ReconnectPlan plan = Reconnector.builder(connector).backoff(myBackoff).build().plan();
 * Outcome o = new Scenario("my hubs", Fleet.reconnector(60_000, plan), ServerTier.shepherd(2_000),
 *     Trigger.fleetDrop(), Duration.ofMinutes(5), 42).run();
 * assertTrue(o.recovers());
 * assertEquals(0, o.wasted());
 * }</pre>
 *
 * <p>Same scenario and seed, same outcome, to the last event ({@link Outcome#traceHash()}). A run is
 * single-threaded; scenarios may run in parallel. Immutable.
 *
 * @param name a name for reports
 * @param fleet the clients
 * @param tier the servers and their database
 * @param trigger what happens at t = 0 and when it is removed
 * @param duration how long to simulate, 1 s to 1 day
 * @param seed the seed of every random draw
 */
public record Scenario(String name, Fleet fleet, ServerTier tier, Trigger trigger, Duration duration, long seed) {

  /**
   * Validates the scenario.
   *
   * @param name not null
   * @param fleet not null
   * @param tier not null
   * @param trigger not null
   * @param duration 1 s to 1 day, whole seconds
   * @param seed any
   * @throws NullPointerException if an object is null
   * @throws IllegalArgumentException if {@code duration} is out of range
   */
  public Scenario {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(fleet, "fleet");
    Objects.requireNonNull(tier, "tier");
    Objects.requireNonNull(trigger, "trigger");
    Objects.requireNonNull(duration, "duration");
    StormConfig.check(duration.getSeconds() >= 1 && duration.compareTo(Duration.ofDays(1)) <= 0, "duration",
        "between 1 second and 1 day", duration);
  }

  /**
   * Runs the scenario on the calling thread.
   *
   * @return what happened
   */
  public Outcome run() {
    StormConfig config = new StormConfig(fleet.clients(), tier.capacity(), tier.servers(), seed,
        (int) duration.getSeconds(), tier.timeout().toNanos());
    Simulation.Setup setup = new Simulation.Setup(fleet.detectionSpread().toNanos(), trigger.dropFraction(),
        trigger.capacityFactor(), trigger.removedAtNanos(), tier.degradation());
    SimulationResult result = new Simulation(config, Strategies.of(name, fleet, tier), 0, setup).run(p -> { });
    return new Outcome(this, result);
  }

  /**
   * Returns this scenario with another fleet.
   *
   * @param fleet the fleet
   * @return the new scenario
   */
  public Scenario withFleet(Fleet fleet) {
    return new Scenario(name, fleet, tier, trigger, duration, seed);
  }

  /**
   * Returns this scenario with another server tier.
   *
   * @param tier the tier
   * @return the new scenario
   */
  public Scenario withTier(ServerTier tier) {
    return new Scenario(name, fleet, tier, trigger, duration, seed);
  }

  /**
   * Returns this scenario with another trigger.
   *
   * @param trigger the trigger
   * @return the new scenario
   */
  public Scenario withTrigger(Trigger trigger) {
    return new Scenario(name, fleet, tier, trigger, duration, seed);
  }

  /**
   * Returns this scenario with another name.
   *
   * @param name the name
   * @return the new scenario
   */
  public Scenario named(String name) {
    return new Scenario(name, fleet, tier, trigger, duration, seed);
  }
}
