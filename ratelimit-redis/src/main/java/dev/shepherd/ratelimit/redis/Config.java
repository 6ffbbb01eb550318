package dev.shepherd.ratelimit.redis;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import dev.shepherd.ratelimit.Rate;
import dev.shepherd.ratelimit.TokenBucket;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.time.Duration;
import java.util.Objects;
import java.util.UUID;
import java.util.function.IntSupplier;

/**
 * The settings both public builders share; validated as they are set and again in
 * {@link #rate()}. Mutable, confined to one builder.
 */
final class Config {

  /** The default prefix of every key this module writes. */
  static final String DEFAULT_PREFIX = "shepherd:ratelimit:";
  /** The longest configured key or prefix, in UTF-8 bytes. */
  static final int MAX_CONFIGURED_KEY_BYTES = 1024;
  /** The longest heartbeat interval: a day. */
  static final Duration MAX_HEARTBEAT = Duration.ofDays(1);

  String name;
  /** The connection, standalone or master-replica; null when a cluster connection was set. */
  StatefulRedisConnection<String, String> connection;
  /** The cluster connection; null when a standalone or master-replica connection was set. */
  StatefulRedisClusterConnection<String, String> clusterConnection;
  int lease;
  /** The keyed limiter's most keys holding a lease at once; 0 for the global limiter's one lease. */
  int leaseMaxKeys;
  Duration heartbeat;
  IntSupplier fleetSize;
  String serverId = UUID.randomUUID().toString();
  Rate rate;
  int burst;
  boolean burstSet;
  Duration timeout = Duration.ofMillis(50);
  Duration coolDown = Duration.ofSeconds(1);
  FailurePolicy failurePolicy = FailurePolicy.FAIL_LOCAL;
  int expectedServers = 1;
  Ticker ticker = Ticker.system();
  Sleeper sleeper = Sleeper.system();
  EventListener listener;

  Config(String defaultName) {
    this.name = defaultName;
  }

  /** A copy, so a built limiter never sees later changes to its builder. */
  Config copy() {
    Config c = new Config(name);
    c.connection = connection;
    c.clusterConnection = clusterConnection;
    c.lease = lease;
    c.leaseMaxKeys = leaseMaxKeys;
    c.heartbeat = heartbeat;
    c.fleetSize = fleetSize;
    c.serverId = serverId;
    c.rate = rate;
    c.burst = burst;
    c.burstSet = burstSet;
    c.timeout = timeout;
    c.coolDown = coolDown;
    c.failurePolicy = failurePolicy;
    c.expectedServers = expectedServers;
    c.ticker = ticker;
    c.sleeper = sleeper;
    c.listener = listener;
    return c;
  }

  void name(String name) {
    this.name = Checks.notBlank(name, "name");
  }

  void connection(StatefulRedisConnection<String, String> connection) {
    this.connection = Objects.requireNonNull(connection, "connection");
    this.clusterConnection = null;
  }

  void connection(StatefulRedisClusterConnection<String, String> connection) {
    this.clusterConnection = Objects.requireNonNull(connection, "connection");
    this.connection = null;
  }

  /** Where the scripts run; built when the limiter is, so no builder setter touches the connection. */
  RedisTarget target() {
    return connection != null ? RedisTarget.of(connection) : RedisTarget.of(clusterConnection);
  }

  void lease(int lease) {
    this.lease = Checks.atLeast(lease, 1, "lease");
  }

  void heartbeat(Duration heartbeat) {
    this.heartbeat = Checks.positive(heartbeat, "heartbeat");
    Checks.check(heartbeat.compareTo(MAX_HEARTBEAT) <= 0, "heartbeat", "at most " + MAX_HEARTBEAT, heartbeat);
  }

  void fleetSize(IntSupplier fleetSize) {
    this.fleetSize = Objects.requireNonNull(fleetSize, "fleetSize");
  }

  void serverId(String serverId) {
    this.serverId = checkConfiguredKey(serverId, "serverId", false);
  }

  /** The count the share starts from: the fleet-size source's, if it answers, else expectedServers. */
  int initialServers() {
    return Fleet.initialCount(fleetSize, expectedServers);
  }

  /** Whether the share follows the fleet (heartbeats, a fleet-size source, or both). */
  boolean fleetTracked() {
    return heartbeat != null || fleetSize != null;
  }

  /** How often the count is updated: the heartbeat, or 1 s for a source alone. */
  Duration fleetInterval() {
    return heartbeat != null ? heartbeat : Duration.ofSeconds(1);
  }

  /** How long a heartbeat counts: three intervals, so one late heartbeat does not drop a server. */
  long fleetTtlMillis() {
    return Math.max(1, fleetInterval().toMillis() * 3);
  }

  /** The fleet's sorted set: {@code "shepherd:fleet:" + name}, beside, never inside, the limits' keys. */
  String fleetKey() {
    return "shepherd:fleet:" + name;
  }

  void rate(Rate rate) {
    RedisRate.checkRate(Objects.requireNonNull(rate, "rate"));
    this.rate = rate;
    if (!burstSet) {
      this.burst = (int) Math.min(Integer.MAX_VALUE, rate.permits());
    }
  }

  void burst(int burst) {
    this.burst = Checks.atLeast(burst, 1, "burst");
    this.burstSet = true;
  }

  void timeout(Duration timeout) {
    this.timeout = Checks.positive(timeout, "timeout");
  }

  void coolDown(Duration coolDown) {
    this.coolDown = Checks.positive(coolDown, "coolDown");
  }

  void failurePolicy(FailurePolicy failurePolicy) {
    this.failurePolicy = Objects.requireNonNull(failurePolicy, "failurePolicy");
  }

  void expectedServers(int expectedServers) {
    this.expectedServers = Checks.atLeast(expectedServers, 1, "expectedServers");
  }

  void ticker(Ticker ticker) {
    this.ticker = Objects.requireNonNull(ticker, "ticker");
  }

  void sleeper(Sleeper sleeper) {
    this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
  }

  void listener(EventListener listener) {
    this.listener = Objects.requireNonNull(listener, "listener");
  }

  /**
   * Checks that the required settings are there and fit together, and returns the rate in script
   * units. The local share must be a rate (and burst) the in-process fallback accepts; when it is
   * not, the message names {@code expectedServers}, the setting that made it so.
   */
  RedisRate rate() {
    if (connection == null && clusterConnection == null) {
      throw new IllegalStateException("connection must be set: call connection(redisClient.connect())");
    }
    if (rate == null) {
      throw new IllegalStateException("rate must be set: call rate(Rate) or rate(permits, period)");
    }
    RedisRate redisRate = RedisRate.of(rate, burst);
    if (lease > burst) {
      throw Checks.invalid("lease", "at most the burst, " + burst, lease);
    }
    try {
      TokenBucket.builder().rate(localRate()).burst(localBurst()).ticker(() -> 0).build();
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw Checks.invalid("expectedServers", "small enough that this server's share, " + rate + " × "
          + expectedServers + ", burst " + localBurst() + ", is a rate the local fallback holds ("
          + e.getMessage() + ")", expectedServers);
    }
    return redisRate;
  }

  /** The burst of this server's share: {@code max(1, burst / expectedServers)}. */
  int localBurst() {
    return shareBurst(expectedServers);
  }

  /** This server's share: {@code permits} per {@code period × expectedServers}. */
  Rate localRate() {
    return shareRate(expectedServers);
  }

  /** The burst of one server's share among {@code servers}: {@code max(1, burst / servers)}. */
  int shareBurst(int servers) {
    return Math.max(1, burst / servers);
  }

  /**
   * One server's share among {@code servers}: {@code permits} per {@code period × servers}.
   *
   * @throws ArithmeticException if the period overflows
   */
  Rate shareRate(int servers) {
    return Rate.of(rate.permits(), rate.period().multipliedBy(servers));
  }

  EventListener guardedListener() {
    return EventListener.guarded(listener == null ? EventListener.logging() : listener);
  }

  /** Requires a non-empty configured key or prefix of at most 1024 UTF-8 bytes. */
  static String checkConfiguredKey(String key, String name, boolean mayBeEmpty) {
    Objects.requireNonNull(key, name);
    if (!mayBeEmpty && key.isEmpty()) {
      throw Checks.invalid(name, "non-empty", "\"\"");
    }
    int bytes = utf8Length(key);
    if (bytes > MAX_CONFIGURED_KEY_BYTES) {
      throw Checks.invalid(name, "at most " + MAX_CONFIGURED_KEY_BYTES + " bytes in UTF-8", bytes + " bytes");
    }
    return key;
  }

  /**
   * Returns the length of {@code s} in UTF-8 without encoding it: 1 byte below U+0080, 2 below
   * U+0800, 4 per surrogate pair, 3 otherwise (an unpaired surrogate is counted as 3, above the
   * 1 byte it becomes, so the bound stays safe).
   */
  static int utf8Length(String s) {
    int bytes = 0;
    for (int i = 0, n = s.length(); i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }
}
