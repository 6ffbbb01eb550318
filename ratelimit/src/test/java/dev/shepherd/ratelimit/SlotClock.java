package dev.shepherd.ratelimit;

import dev.shepherd.core.Ticker;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * One hand-driven time source for a {@link SlotAdmission}'s two clocks: a ticker that may start
 * anywhere and wrap past {@link Long#MAX_VALUE} like {@code System.nanoTime()}, and a wall clock in
 * step with it (epoch milliseconds, floored), as two servers' synchronised clocks would be.
 */
final class SlotClock extends Clock implements Ticker {

  private final long origin;
  private final long epochMillis;
  private long elapsed;

  SlotClock(long origin, long epochMillis) {
    this.origin = origin;
    this.epochMillis = epochMillis;
  }

  /** Moves time forward by {@code nanos}. */
  void advance(long nanos) {
    if (nanos < 0) {
      throw new IllegalArgumentException("time never goes back: " + nanos);
    }
    elapsed += nanos;
  }

  /** Nanoseconds since this clock was made. */
  long elapsed() {
    return elapsed;
  }

  @Override
  public long read() {
    return origin + elapsed; // wraps, as System.nanoTime() may
  }

  @Override
  public long millis() {
    return epochMillis + elapsed / 1_000_000L;
  }

  @Override
  public Instant instant() {
    return Instant.ofEpochMilli(millis());
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException();
  }
}
