package dev.shepherd.ratelimit;

import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Test clocks that ManualClock does not provide. */
final class TestTime {

  private TestTime() {}

  /**
   * A ticker that wraps around like {@code System.nanoTime()} may (ManualClock saturates instead), so
   * properties can start near {@link Long#MAX_VALUE} and run past it.
   */
  static final class WrappingTicker implements Ticker {
    private final AtomicLong now;

    WrappingTicker(long origin) {
      this.now = new AtomicLong(origin);
    }

    @Override
    public long read() {
      return now.get();
    }

    void advance(long nanos) {
      now.addAndGet(nanos); // wraps past Long.MAX_VALUE on purpose
    }
  }

  /** A sleeper that records waits and returns at once without moving time: queued callers pile up. */
  static final class RecordingSleeper implements Sleeper {
    final List<Long> sleeps = new ArrayList<>();

    @Override
    public void sleep(Duration duration) throws InterruptedException {
      if (Thread.interrupted()) {
        throw new InterruptedException("test interrupt");
      }
      sleeps.add(duration.toNanos());
    }

    long last() {
      return sleeps.isEmpty() ? -1 : sleeps.get(sleeps.size() - 1);
    }
  }
}
