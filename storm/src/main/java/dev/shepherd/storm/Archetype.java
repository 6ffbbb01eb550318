package dev.shepherd.storm;

import dev.shepherd.backoff.Backoff;
import java.time.Duration;

/**
 * The four metastable-failure archetypes of Huang et al. ("Metastable Failures in the Wild", OSDI
 * 2022) as ready {@link Scenario scenarios}: a trigger (a load spike or a capacity drop) that is
 * removed, and a sustaining effect (workload amplification by retries, or the capacity degradation
 * of a database that thrashes under a long queue) that keeps the system down after the removal.
 *
 * <p>Every archetype runs 20,000 clients against a database of 500 authentications per second
 * ({@code N / C} = 40 s) with a 10 s attempt timeout for 10 simulated minutes. The load spike drops
 * the whole fleet at t = 0; the capacity drop also drops 22 % of the fleet (4,400 clients, 8.8 s of
 * work: less than the timeout, so at full capacity it is harmless) and runs the database at 10 % of
 * its capacity for the first 60 s. Retries amplify when clients retry at once ({@link
 * Fleet#immediateRetry(int)}); otherwise they use full jitter from 1 s to 5 minutes, and the database
 * degrades by 90 % (instead of 15 %) under 30 s of queued work.
 *
 * <p>{@link #scenario(long)} is the failing system; {@link #withShepherd(long)} the same trigger and
 * database with Shepherd's defaults on both sides.
 */
public enum Archetype {
  /** A load spike sustained by retries: the reconnect storm of the outage. */
  LOAD_SPIKE_RETRIES(false, true),
  /** A load spike sustained by a database that thrashes under the queue it caused. */
  LOAD_SPIKE_DEGRADATION(false, false),
  /** A capacity drop sustained by retries that outlive it. */
  CAPACITY_DROP_RETRIES(true, true),
  /** A capacity drop sustained by a database that thrashes under the queue the drop built. */
  CAPACITY_DROP_DEGRADATION(true, false);

  /** The clients of every archetype: 20,000. */
  public static final int CLIENTS = 20_000;
  /** The database's capacity of every archetype: 500 per second. */
  public static final int CAPACITY = 500;
  /** The degradation of the thrashing database: 90 % of throughput lost under 30 s of queue. */
  public static final double THRASHING = 0.90;

  private final boolean capacityDrop;
  private final boolean retries;

  Archetype(boolean capacityDrop, boolean retries) {
    this.capacityDrop = capacityDrop;
    this.retries = retries;
  }

  /**
   * Returns the archetype's trigger.
   *
   * @return a fleet drop, or a partial drop with a capacity drop
   */
  public Trigger trigger() {
    return capacityDrop ? Trigger.partialDrop(0.22).withCapacityDrop(0.10, Duration.ofSeconds(60))
        : Trigger.fleetDrop();
  }

  /**
   * Returns the failing system: the trigger, and the sustaining effect.
   *
   * @param seed the seed
   * @return the scenario
   */
  public Scenario scenario(long seed) {
    Fleet fleet = retries ? Fleet.immediateRetry(CLIENTS)
        : Fleet.backoff(CLIENTS, Backoff.fullJitter(Duration.ofSeconds(1), Duration.ofMinutes(5)));
    ServerTier tier = ServerTier.unprotected(CAPACITY).withDegradation(retries ? Database.DEGRADATION : THRASHING);
    return new Scenario(name(), fleet, tier, trigger(), Duration.ofMinutes(10), seed);
  }

  /**
   * Returns the same trigger and database with Shepherd's defaults: default reconnectors, slot
   * admission, a cold cache and the deadline guard.
   *
   * @param seed the seed
   * @return the scenario
   */
  public Scenario withShepherd(long seed) {
    Scenario failing = scenario(seed);
    return failing.named(name() + ", Shepherd").withFleet(Fleet.shepherd(CLIENTS))
        .withTier(ServerTier.shepherd(CAPACITY).withDegradation(failing.tier().degradation()));
  }
}
