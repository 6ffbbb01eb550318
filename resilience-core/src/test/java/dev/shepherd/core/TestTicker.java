package dev.shepherd.core;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A ticker that moves only when a test advances it. Core's own tests use it because the public
 * {@code ManualClock} lives in the testing module, which depends on core (Maven refuses the cycle).
 */
final class TestTicker implements Ticker {

  private final AtomicLong now = new AtomicLong();

  @Override
  public long read() {
    return now.get();
  }

  void advance(Duration duration) {
    advanceNanos(duration.toNanos());
  }

  void advanceNanos(long nanos) {
    now.addAndGet(nanos);
  }
}
