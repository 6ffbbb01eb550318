package dev.shepherd.backoff;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Small test-only {@link Backoff}s, so the retry tests do not depend on the production factories.
 */
final class TestBackoffs {

  private TestBackoffs() {}

  /** Every delay is {@code delay}. */
  static Backoff constant(Duration delay) {
    long nanos = delay.toNanos();
    return random -> () -> nanos;
  }

  /** The given delays in order, then the last one forever. */
  static Backoff sequence(Duration... delays) {
    List<Duration> list = List.copyOf(Arrays.asList(delays));
    return random -> new Backoff.Schedule() {
      private int next;

      @Override
      public long nextDelayNanos() {
        Duration d = list.get(Math.min(next, list.size() - 1));
        next++;
        return d.toNanos();
      }
    };
  }

  /** The given delays in nanoseconds in order, then the last one forever. */
  static Backoff sequenceNanos(List<Long> delays) {
    List<Long> list = List.copyOf(delays);
    return random -> new Backoff.Schedule() {
      private int next;

      @Override
      public long nextDelayNanos() {
        long d = list.isEmpty() ? 0 : list.get(Math.min(next, list.size() - 1));
        next++;
        return d;
      }
    };
  }

  /** Each delay uniform on {@code [0, max]}, drawn from the schedule's generator. */
  static Backoff uniform(Duration max) {
    long bound = max.toNanos() + 1;
    return (RandomGenerator random) -> () -> random.nextLong(bound);
  }
}
