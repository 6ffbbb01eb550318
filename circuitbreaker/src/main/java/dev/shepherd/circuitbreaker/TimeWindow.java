package dev.shepherd.circuitbreaker;

import dev.shepherd.core.Ticker;

/**
 * A window of the calls judged during the last stretch of time, in buckets on the breaker's
 * {@link Ticker}; see {@link BucketCounters} for its exact extent and why it is lock-free.
 *
 * <p>Every record adds one to the calls, which are striped (threads that collide move to cells of
 * their own, so two threads recording at once write different cache lines). A record then reads the failures and
 * slow calls, which a healthy service rarely writes, and reads the calls (every cell) only when
 * those are enough to trip the breaker for some number of calls ({@link TripRule#mayTrip}): the
 * verdict is the same as reading everything, and the common record writes one line of its own.
 */
final class TimeWindow extends Window {

  private static final int CALLS = 0;
  private static final int FAILURES = 1;
  private static final int SLOW = 2;

  private final Ticker ticker;
  private final BucketCounters counters;

  TimeWindow(int buckets, long bucketNanos, Ticker ticker, long origin, TripRule rule) {
    super(rule);
    this.ticker = ticker;
    this.counters = new BucketCounters(3, true, buckets, bucketNanos, origin);
  }

  @Override
  boolean record(int code) {
    long bucket = counters.bucket(ticker.read());
    counters.roll(bucket);
    if (Counts.isFailure(code)) {
      counters.add(FAILURES, 1);
    }
    if (Counts.isSlow(code)) {
      counters.add(SLOW, 1);
    }
    counters.add(CALLS, 1); // last, so a reader never sees more failures than calls from this record
    int marks = counters.marksOf(bucket);
    long failures = counters.sumFrom(FAILURES, marks);
    long slow = counters.sumFrom(SLOW, marks);
    if (!rule.mayTrip(failures, slow)) {
      return false; // the steady state of a healthy service: the striped calls are not read
    }
    long calls = counters.sumFrom(CALLS, marks);
    return rule.trips(calls, Math.min(calls, failures), Math.min(calls, slow));
  }

  @Override
  long[] counts() {
    long bucket = counters.bucket(ticker.read());
    counters.roll(bucket);
    long calls = counters.sum(CALLS, bucket);
    return new long[] {
      calls, Math.min(calls, counters.sum(FAILURES, bucket)), Math.min(calls, counters.sum(SLOW, bucket)),
    };
  }
}
