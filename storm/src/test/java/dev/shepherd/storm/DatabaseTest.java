package dev.shepherd.storm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DatabaseTest {

  private static final long SECOND = 1_000_000_000L;

  @Test
  void belowCapacityEveryRequestIsServedAtOnceInOneServiceTime() {
    // Given a database of 1,000/s offered 500/s, evenly
    Database database = new Database(1_000);
    for (int i = 0; i < 5_000; i++) {
      long now = i * (SECOND / 500);
      // Then each request finds it idle and completes after its own 1 ms of work
      assertTrue(database.offer(now, i, 1));
      assertEquals(now + SECOND / 1_000, database.startNext(now));
      assertEquals(i, database.currentHub());
      assertEquals(-1, database.startNext(now + SECOND / 1_000), "idle again");
    }
    assertEquals(1, database.peakQueue());
  }

  @Test
  void aBurstQueuesAndIsServedOldestFirst() {
    // Given 1,000 requests arriving together at a database of 1,000/s
    Database database = new Database(1_000);
    assertTrue(database.offer(0, 0, 7), "idle: the caller starts it");
    long now = database.startNext(0);
    for (int hub = 1; hub < 1_000; hub++) {
      assertFalse(database.offer(0, hub, 7), "busy");
    }
    assertEquals(999, database.peakQueue());
    // Then they are served in arrival order, and the last completes after about one second of work
    for (int hub = 1; hub < 1_000; hub++) {
      now = database.startNext(now);
      assertEquals(hub, database.currentHub());
      assertEquals(7, database.currentRequest());
    }
    assertTrue(now >= SECOND && now < SECOND * 101 / 100, "last completion " + now);
    assertEquals(0, database.queued());
  }

  @Test
  void aLongQueueCostsThroughputButNoMoreThanTheStatedDegradation() {
    // Given a database kept far beyond its capacity
    Database database = new Database(1_000);
    int requests = 200_000;
    for (int i = 0; i < requests; i++) {
      database.offer(0, i, 1);
    }
    long now = 0;
    long atThirtySecondsQueued = -1;
    for (int i = 0; i < requests; i++) {
      now = database.startNext(now);
      if (database.queued() == 30_000) {
        atThirtySecondsQueued = now;
      }
    }
    // Then it completes fewer than 1,000/s, but never fewer than (1 - DEGRADATION) x 1,000/s
    double rate = requests / (now / 1e9);
    assertTrue(rate < 1_000, "rate " + rate);
    assertTrue(rate >= 1_000 * (1 - Database.DEGRADATION) * 0.999, "rate " + rate);
    // And it speeds up as the queue drains: the last 30,000 take 30 s x ln(1 / 0.85) / 0.15 = 32.5 s,
    // between the full speed's 30 s and the fully degraded speed's 35.3 s
    long drain = now - atThirtySecondsQueued;
    assertTrue(drain > 32_000_000_000L && drain < 33_000_000_000L, "drain " + drain);
  }
}
