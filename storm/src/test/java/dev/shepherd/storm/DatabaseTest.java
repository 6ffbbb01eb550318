package dev.shepherd.storm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.testing.ManualClock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DatabaseTest {

  private static final long SECOND = 1_000_000_000L;

  /** Drives a database as the simulation does: remembers when the request in service completes. */
  private static final class Driver implements Database.Listener {
    final ManualClock clock = ManualClock.instant();
    final List<Long> starts = new ArrayList<>();
    final List<int[]> drops = new ArrayList<>();
    long doneAt = -1;

    @Override
    public void started(long at) {
      doneAt = at;
      starts.add(at);
    }

    @Override
    public void dropped(int hub, int request) {
      drops.add(new int[] {hub, request});
    }

    /** Advances to the completion of the request in service and finishes it; returns its hub. */
    int completeOne(Database database) {
      clock.advanceNanos(doneAt - clock.read());
      int hub = database.currentHub();
      doneAt = -1;
      database.finish();
      return hub;
    }
  }

  @Test
  void belowCapacityEveryRequestIsServedAtOnceInOneServiceTime() {
    // Given a database of 1,000/s offered 500/s, evenly
    Driver driver = new Driver();
    Database database = new Database(1_000, QueuePolicy.unguarded(), driver.clock, driver);
    for (int i = 0; i < 5_000; i++) {
      long now = i * (SECOND / 500);
      driver.clock.advanceNanos(now - driver.clock.read());
      database.offer(i, 1, now + SECOND);
      // Then each request finds it idle and completes after its own 1 ms of work
      assertEquals(now + SECOND / 1_000, driver.doneAt);
      assertEquals(i, driver.completeOne(database));
      assertEquals(-1, database.currentHub(), "idle again");
    }
    assertEquals(1, database.peakQueue());
  }

  @Test
  void aBurstQueuesAndIsServedOldestFirstWithoutAGuard() {
    // Given 1,000 requests arriving together at a database of 1,000/s
    Driver driver = new Driver();
    Database database = new Database(1_000, QueuePolicy.unguarded(), driver.clock, driver);
    for (int hub = 0; hub < 1_000; hub++) {
      database.offer(hub, 7, 0); // deadlines long past: without a guard they are served anyway
    }
    assertEquals(999, database.peakQueue());
    // Then they are served in arrival order, and the last completes after about one second of work
    for (int hub = 0; hub < 1_000; hub++) {
      assertEquals(7, database.currentRequest());
      assertEquals(hub, driver.completeOne(database));
    }
    long now = driver.clock.read();
    assertTrue(now >= SECOND && now < SECOND * 101 / 100, "last completion " + now);
    assertEquals(0, database.queued());
    assertEquals(0, database.dropped());
  }

  @Test
  void theGuardServesTheNewestFirstAndDropsWhatIsLateForFreeByDefault() {
    // Given a guarded database of 1,000/s and 1,000 requests at once with deadlines 0.5 s away
    Driver driver = new Driver();
    Database database = new Database(1_000, QueuePolicy.deadlineGuard(true, 0.0), driver.clock, driver);
    for (int hub = 0; hub < 1_000; hub++) {
      database.offer(hub, 1, SECOND / 2);
    }
    // Then the first starts at once and the rest are served newest first until the deadline
    assertEquals(0, driver.completeOne(database));
    int served = 1;
    int expected = 999;
    while (driver.doneAt >= 0) {
      assertEquals(expected--, driver.completeOne(database));
      served++;
    }
    // About half a second of work was done, each request started before its deadline; the rest dropped
    assertTrue(served >= 498 && served <= 501, "served " + served);
    assertEquals(1_000 - served, database.dropped());
    assertEquals(1_000 - served, driver.drops.size());
    assertTrue(driver.clock.read() <= SECOND / 2, "worked past the deadline: " + driver.clock.read());
  }

  @Test
  void aDropCostsTheWorkerItsShareOfAServiceTimeBeforeTheNextStart() {
    // Given a guarded FIFO database of 1,000/s whose drops cost 20 % of a query (0.2 ms)
    Driver driver = new Driver();
    Database database = new Database(1_000, QueuePolicy.deadlineGuard(false, 0.2), driver.clock, driver);
    database.offer(0, 1, 10 * SECOND); // in service for 1 ms
    for (int hub = 1; hub <= 10; hub++) {
      database.offer(hub, 1, SECOND / 2_000); // late by the time the worker is free
    }
    database.offer(11, 1, 10 * SECOND);
    // When the first completes, the worker takes the next: ten late requests, dropped at 0.2 ms each
    assertEquals(0, driver.completeOne(database));
    assertEquals(10, database.dropped());
    assertEquals(11, database.currentHub());
    long finishedFirst = driver.clock.read();
    assertEquals(finishedFirst + 10 * 200_000L + 1_000_000L, driver.doneAt);
  }

  @Test
  void aRequestArrivingWhileTheWorkerPaysForDropsWaitsOnlyForTheDropInHand() {
    // Given a guarded newest-first database of 1,000/s whose drops cost 20 % of a query (0.2 ms)
    Driver driver = new Driver();
    Database database = new Database(1_000, QueuePolicy.deadlineGuard(true, 0.2), driver.clock, driver);
    database.offer(0, 1, 10 * SECOND); // in service for 1 ms
    for (int hub = 1; hub <= 1_000; hub++) {
      database.offer(hub, 1, SECOND / 2_000); // a whole wave, late by the time the worker is free
    }
    // When the worker is free it finds the whole queue late: 1,000 drops, 200 ms of its time
    assertEquals(0, driver.completeOne(database));
    assertEquals(1_000, database.dropped());
    assertEquals(-1, database.currentHub(), "nothing left to start");
    // And a request arriving 50.1 ms later starts when the drop in hand is done (at 50.2 ms), not
    // after the 150 ms of drops still ahead: the worker sees it, the newest, after that drop
    long walkStart = driver.clock.read();
    driver.clock.advanceNanos(50_100_000L);
    database.offer(1_001, 1, 10 * SECOND);
    assertEquals(1_001, database.currentHub());
    assertEquals(walkStart + 50_200_000L + 1_000_000L, driver.doneAt);
    // And the next arrival, once that request is done, owes the worker nothing
    assertEquals(1_001, driver.completeOne(database));
    database.offer(1_002, 1, 10 * SECOND);
    assertEquals(driver.clock.read() + 1_000_000L, driver.doneAt);
  }

  @Test
  void aLongQueueCostsThroughputButNoMoreThanTheStatedDegradation() {
    // Given a database kept far beyond its capacity
    Driver driver = new Driver();
    Database database = new Database(1_000, QueuePolicy.unguarded(), driver.clock, driver);
    int requests = 200_000;
    for (int i = 0; i < requests; i++) {
      database.offer(i, 1, 0);
    }
    long atThirtySecondsQueued = -1;
    for (int i = 0; i < requests; i++) {
      driver.completeOne(database);
      if (database.queued() == 30_000) {
        atThirtySecondsQueued = driver.clock.read();
      }
    }
    long now = driver.clock.read();
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
