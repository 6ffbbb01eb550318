package dev.shepherd.circuitbreaker;

import dev.shepherd.core.Ticker;

/**
 * A window of the calls judged during the last stretch of time, in buckets on the breaker's
 * {@link Ticker}; see {@link BucketCounters} for its exact extent and why it is lock-free.
 */
final class TimeWindow extends Window {

  private static final int CALLS = 0;
  private static final int FAILURES = 1;
  private static final int SLOW = 2;

  private final Ticker ticker;
  private final BucketCounters counters;

  TimeWindow(int buckets, long bucketNanos, Ticker ticker, TripRule rule) {
    super(rule);
    this.ticker = ticker;
    this.counters = new BucketCounters(3, buckets, bucketNanos, ticker.read());
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
    long calls = counters.sum(CALLS, bucket);
    return rule.trips(calls, Math.min(calls, counters.sum(FAILURES, bucket)),
        Math.min(calls, counters.sum(SLOW, bucket)));
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
