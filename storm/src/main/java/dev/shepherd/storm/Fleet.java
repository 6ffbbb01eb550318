package dev.shepherd.storm;

import dev.shepherd.backoff.Backoff;
import dev.shepherd.backoff.ReconnectPlan;
import dev.shepherd.backoff.Reconnector;
import java.time.Duration;
import java.util.Objects;

/**
 * The clients of a {@link Scenario}: how many there are, how quickly they notice a drop, and how they
 * wait before and between connection attempts, described with the library's own types (your
 * {@link Backoff}, or the {@link ReconnectPlan} of your {@link Reconnector}). Immutable and
 * thread-safe; the simulation gives every client its own schedule or session, seeded.
 */
public final class Fleet {

  private final int clients;
  private final Duration detectionSpread;
  private final Strategies.Hubs hubs;
  private final Backoff backoff;
  private final ReconnectPlan plan;

  private Fleet(int clients, Duration detectionSpread, Strategies.Hubs hubs, Backoff backoff, ReconnectPlan plan) {
    StormConfig.check(clients > 0 && clients <= 10_000_000, "clients", "between 1 and 10,000,000", clients);
    Objects.requireNonNull(detectionSpread, "detectionSpread");
    StormConfig.check(!detectionSpread.isNegative() && detectionSpread.compareTo(Duration.ofHours(1)) <= 0,
        "detectionSpread", "between 0 and 1 hour", detectionSpread);
    this.clients = clients;
    this.detectionSpread = detectionSpread;
    this.hubs = hubs;
    this.backoff = backoff;
    this.plan = plan;
  }

  /**
   * Returns clients that reconnect at once after a drop and after every failed attempt: the outage's
   * firmware.
   *
   * @param clients the fleet size, 1 to 10,000,000
   * @return the fleet, noticing a drop within 200 ms
   * @throws IllegalArgumentException if {@code clients} is out of range
   */
  public static Fleet immediateRetry(int clients) {
    return new Fleet(clients, Duration.ofNanos(Simulation.DETECTION_SPREAD_NANOS), Strategies.Hubs.IMMEDIATE,
        null, null);
  }

  /**
   * Returns clients that attempt at once after a drop, then wait {@code backoff}'s delays between
   * failed attempts (a plain retry loop around a connect call).
   *
   * @param clients the fleet size, 1 to 10,000,000
   * @param backoff the delays between attempts, one schedule per client
   * @return the fleet, noticing a drop within 200 ms
   * @throws IllegalArgumentException if {@code clients} is out of range
   * @throws NullPointerException if {@code backoff} is null
   */
  public static Fleet backoff(int clients, Backoff backoff) {
    return new Fleet(clients, Duration.ofNanos(Simulation.DETECTION_SPREAD_NANOS), Strategies.Hubs.FULL_JITTER,
        Objects.requireNonNull(backoff, "backoff"), null);
  }

  /**
   * Returns clients that each run a session of {@code plan}, as {@link Reconnector} does: its
   * initial spread, its backoff, and what it does with a refusal's retry-after or slot ticket.
   *
   * @param clients the fleet size, 1 to 10,000,000
   * @param plan your reconnector's {@link Reconnector#plan() plan}
   * @return the fleet, noticing a drop within 200 ms
   * @throws IllegalArgumentException if {@code clients} is out of range
   * @throws NullPointerException if {@code plan} is null
   */
  public static Fleet reconnector(int clients, ReconnectPlan plan) {
    return new Fleet(clients, Duration.ofNanos(Simulation.DETECTION_SPREAD_NANOS), Strategies.Hubs.RECONNECTOR,
        null, Objects.requireNonNull(plan, "plan"));
  }

  /**
   * Returns clients that each run a default {@link Reconnector}: Shepherd's defaults.
   *
   * @param clients the fleet size, 1 to 10,000,000
   * @return the fleet
   * @throws IllegalArgumentException if {@code clients} is out of range
   */
  public static Fleet shepherd(int clients) {
    return reconnector(clients, Reconnector.builder(() -> {
      throw new UnsupportedOperationException("the simulation makes the attempts");
    }).build().plan());
  }

  /**
   * Returns this fleet noticing a drop within {@code spread} instead (each client at a uniform
   * random instant in it).
   *
   * @param spread from 0 to 1 hour
   * @return the new fleet
   * @throws IllegalArgumentException if {@code spread} is out of range
   * @throws NullPointerException if {@code spread} is null
   */
  public Fleet withDetectionSpread(Duration spread) {
    return new Fleet(clients, spread, hubs, backoff, plan);
  }

  /**
   * Returns the fleet size.
   *
   * @return the number of clients
   */
  public int clients() {
    return clients;
  }

  /**
   * Returns the window within which clients notice a drop.
   *
   * @return the detection spread
   */
  public Duration detectionSpread() {
    return detectionSpread;
  }

  Strategies.Hubs hubs() {
    return hubs;
  }

  Backoff backoff() {
    return backoff;
  }

  ReconnectPlan plan() {
    return plan;
  }

  @Override
  public String toString() {
    return "Fleet{" + clients + " clients, " + hubs + (backoff != null ? " " + backoff : "")
        + ", detection " + detectionSpread + "}";
  }
}
