package dev.shepherd.ratelimit.redis;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/** A wall clock the test sets: milliseconds since the epoch that move only when told. Thread-safe. */
final class WallClock extends Clock {

  private final AtomicLong millis;

  WallClock(long startMillis) {
    this.millis = new AtomicLong(startMillis);
  }

  void set(long epochMillis) {
    millis.set(epochMillis);
  }

  void advanceMillis(long delta) {
    millis.addAndGet(delta);
  }

  @Override
  public long millis() {
    return millis.get();
  }

  @Override
  public Instant instant() {
    return Instant.ofEpochMilli(millis.get());
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException("a test clock has one zone");
  }
}
