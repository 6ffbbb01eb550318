package dev.shepherd.storm;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * The server side of a {@link Scenario}: connect servers behind a load balancer that sends each
 * attempt to one at random, their admission and authentication cache, and the database behind them
 * (its capacity, its queue's {@link QueuePolicy}, and how much throughput it loses under a long
 * queue). The clients' attempt timeout belongs here too: it is how long a server's answer may take.
 * Immutable and thread-safe; build one with {@link #unprotected(int)} or {@link #shepherd(int)} and
 * the {@code with} methods.
 *
 * @param capacity the database's authentications per second at full speed, positive
 * @param timeout how long a client waits for an answer before it gives up on the attempt, positive
 * @param servers connect servers, 1 to 1,000
 * @param admission what each server does before authenticating
 * @param fleetWide with admission, one limiter at {@code capacity} for all servers instead of one per
 *     server at its share
 * @param cache the servers' authentication cache
 * @param queue the database queue's policy
 * @param degradation the share of throughput the database loses at 30 s or more of queued work, 0 to
 *     0.95 (linear in between): 0.15 for a healthy database, more for one that thrashes
 */
public record ServerTier(int capacity, Duration timeout, int servers, Strategies.Admission admission,
    boolean fleetWide, Strategies.Cache cache, QueuePolicy queue, double degradation) {

  /**
   * Validates the tier.
   *
   * @param capacity positive
   * @param timeout positive, more than the answer's way back (60 ms)
   * @param servers 1 to 1,000
   * @param admission not null
   * @param fleetWide one shared admission
   * @param cache not null
   * @param queue not null
   * @param degradation 0 to 0.95
   * @throws IllegalArgumentException if a value is out of range
   * @throws NullPointerException if an object is null
   */
  public ServerTier {
    StormConfig.check(capacity > 0, "capacity", "positive", capacity);
    Objects.requireNonNull(timeout, "timeout");
    StormConfig.check(timeout.toNanos() > Simulation.REPLY_NANOS && timeout.compareTo(Duration.ofHours(1)) <= 0,
        "timeout", "more than 60 ms and at most 1 hour", timeout);
    StormConfig.check(servers > 0 && servers <= 1_000, "servers", "between 1 and 1,000", servers);
    Objects.requireNonNull(admission, "admission");
    Objects.requireNonNull(cache, "cache");
    Objects.requireNonNull(queue, "queue");
    StormConfig.check(degradation >= 0 && degradation <= 0.95, "degradation", "between 0 and 0.95",
        String.format(Locale.ROOT, "%s", degradation));
  }

  /**
   * Returns the outage's tier: one server, no admission, no cache, an unguarded database queue that
   * loses 15 % of its throughput under a long queue, a 10 s timeout.
   *
   * @param capacity the database's authentications per second
   * @return the tier
   * @throws IllegalArgumentException if {@code capacity} is not positive
   */
  public static ServerTier unprotected(int capacity) {
    return new ServerTier(capacity, Duration.ofSeconds(StormConfig.DEFAULT_TIMEOUT_SECONDS), 1,
        Strategies.Admission.NONE, false, Strategies.Cache.NONE, QueuePolicy.unguarded(), Database.DEGRADATION);
  }

  /**
   * Returns Shepherd's defaults: slot admission per server at its share of {@code capacity}, a cold
   * caching authenticator per server, and a default deadline guard (newest first) on the database;
   * one server, 10 s timeout, 15 % degradation.
   *
   * @param capacity the database's authentications per second
   * @return the tier
   * @throws IllegalArgumentException if {@code capacity} is not positive
   */
  public static ServerTier shepherd(int capacity) {
    return new ServerTier(capacity, Duration.ofSeconds(StormConfig.DEFAULT_TIMEOUT_SECONDS), 1,
        Strategies.Admission.SLOTS, false, Strategies.Cache.COLD, QueuePolicy.shepherdDefault(),
        Database.DEGRADATION);
  }

  /**
   * Returns this tier with another number of servers.
   *
   * @param servers 1 to 1,000
   * @return the new tier
   * @throws IllegalArgumentException if out of range
   */
  public ServerTier withServers(int servers) {
    return new ServerTier(capacity, timeout, servers, admission, fleetWide, cache, queue, degradation);
  }

  /**
   * Returns this tier with another attempt timeout.
   *
   * @param timeout more than 60 ms, at most 1 hour
   * @return the new tier
   * @throws IllegalArgumentException if out of range
   */
  public ServerTier withTimeout(Duration timeout) {
    return new ServerTier(capacity, timeout, servers, admission, fleetWide, cache, queue, degradation);
  }

  /**
   * Returns this tier with another admission.
   *
   * @param admission the admission
   * @param fleetWide one shared limiter instead of one per server
   * @return the new tier
   */
  public ServerTier withAdmission(Strategies.Admission admission, boolean fleetWide) {
    return new ServerTier(capacity, timeout, servers, admission, fleetWide, cache, queue, degradation);
  }

  /**
   * Returns this tier with another cache.
   *
   * @param cache the cache
   * @return the new tier
   */
  public ServerTier withCache(Strategies.Cache cache) {
    return new ServerTier(capacity, timeout, servers, admission, fleetWide, cache, queue, degradation);
  }

  /**
   * Returns this tier with another database queue policy.
   *
   * @param queue the policy
   * @return the new tier
   */
  public ServerTier withQueue(QueuePolicy queue) {
    return new ServerTier(capacity, timeout, servers, admission, fleetWide, cache, queue, degradation);
  }

  /**
   * Returns this tier with a database that loses another share of its throughput under a long queue.
   *
   * @param degradation 0 to 0.95
   * @return the new tier
   * @throws IllegalArgumentException if out of range
   */
  public ServerTier withDegradation(double degradation) {
    return new ServerTier(capacity, timeout, servers, admission, fleetWide, cache, queue, degradation);
  }
}
