package dev.shepherd.storm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DatabaseTest {

  private static final long SECOND = 1_000_000_000L;

  @Test
  void belowCapacityEveryRequestIsServedAtOnce() {
    // Given a database of 1,000/s offered 500/s, evenly
    Database database = new Database(1_000);
    for (int i = 0; i < 5_000; i++) {
      long now = i * (SECOND / 500);
      // Then each request completes within its own 1 ms of work: nothing queues
      assertEquals(now + SECOND / 1_000, database.submit(now));
    }
  }

  @Test
  void aBurstQueuesAndTheLastRequestWaitsForAllTheWorkAhead() {
    // Given 1,000 requests arriving together at a database of 1,000/s
    Database database = new Database(1_000);
    long last = 0;
    for (int i = 0; i < 1_000; i++) {
      last = database.submit(0);
    }
    // Then the last completes after about one second of work (a little more: queueing degrades)
    assertTrue(last >= SECOND && last < SECOND * 101 / 100, "last completion " + last);
  }

  @Test
  void aLongQueueCostsThroughputButNoMoreThanTheStatedDegradation() {
    // Given a database kept far beyond its capacity
    Database database = new Database(1_000);
    long done = 0;
    int requests = 200_000;
    for (int i = 0; i < requests; i++) {
      done = database.submit(0);
    }
    // Then it completes fewer than 1,000/s, but never fewer than (1 - DEGRADATION) x 1,000/s
    double rate = requests / (done / 1e9);
    assertTrue(rate < 1_000, "rate " + rate);
    assertTrue(rate >= 1_000 * (1 - Database.DEGRADATION) * 0.999, "rate " + rate);
  }

  @Test
  void theQueueDrainsAtTheRateItWasBuiltAt() {
    Database database = new Database(100);
    for (int i = 0; i < 100; i++) {
      database.submit(0);
    }
    long queued = database.queuedNanos(0);
    assertTrue(queued >= SECOND, "queued " + queued);
    assertEquals(0, database.queuedNanos(queued));
    assertEquals(queued - SECOND / 2, database.queuedNanos(SECOND / 2));
  }
}
