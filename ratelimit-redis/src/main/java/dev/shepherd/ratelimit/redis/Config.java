package dev.shepherd.ratelimit.redis;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.Objects;

/**
 * The settings both public builders share; validated as they are set and again in
 * {@link #rate()}. Mutable, confined to one builder.
 */
final class Config {

  /** The default prefix of every key this module writes. */
  static final String DEFAULT_PREFIX = "shepherd:ratelimit:";
  /** The longest configured key or prefix, in UTF-8 bytes. */
  static final int MAX_CONFIGURED_KEY_BYTES = 1024;

  String name;
  StatefulRedisConnection<String, String> connection;
  long permits;
  Duration period;
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

  void name(String name) {
    this.name = Checks.notBlank(name, "name");
  }

  void connection(StatefulRedisConnection<String, String> connection) {
    this.connection = Objects.requireNonNull(connection, "connection");
  }

  void rate(long permits, Duration period) {
    RedisRate.checkRate(permits, period);
    this.permits = permits;
    this.period = period;
    if (!burstSet) {
      this.burst = (int) Math.min(Integer.MAX_VALUE, permits);
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

  /** Checks that the required settings are there and returns the rate in script units. */
  RedisRate rate() {
    if (connection == null) {
      throw new IllegalStateException("connection must be set: call connection(redisClient.connect())");
    }
    if (period == null) {
      throw new IllegalStateException("rate must be set: call rate(permits, period)");
    }
    RedisRate rate = RedisRate.of(permits, period, burst);
    // The local share must be a rate the local bucket accepts.
    long periodNanos = period.toNanos(); // < Long.MAX_VALUE: checked by RedisRate
    Checks.check(
        periodNanos <= Long.MAX_VALUE / 2 / expectedServers,
        "expectedServers",
        "small enough that period × expectedServers stays below about 146 years",
        expectedServers);
    return rate;
  }

  /** The burst of this server's share: {@code max(1, burst / expectedServers)}. */
  int localBurst() {
    return Math.max(1, burst / expectedServers);
  }

  /** The period of this server's share of {@code permits}: {@code period × expectedServers}. */
  Duration localPeriod() {
    return period.multipliedBy(expectedServers);
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
