package dev.shepherd.storm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class EventQueueTest {

  @Test
  void eventsComeOutInTimeOrder() {
    // Given many events with colliding times, in random order
    SplittableRandom random = new SplittableRandom(7);
    EventQueue queue = new EventQueue(4);
    List<long[]> reference = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      long time = random.nextLong(500);
      queue.add(time, i);
      reference.add(new long[] {time, i});
    }
    reference.sort(Comparator.comparingLong(event -> event[0]));
    long[] drainedPayloads = new long[reference.size()];

    // When they are drained
    for (int i = 0; i < reference.size(); i++) {
      drainedPayloads[i] = queue.poll();
      // Then each is the earliest left
      assertEquals(reference.get(i)[0], queue.lastTime());
    }
    assertTrue(queue.isEmpty());
    // and every event came out exactly once
    long[] sorted = drainedPayloads.clone();
    java.util.Arrays.sort(sorted);
    for (int i = 0; i < sorted.length; i++) {
      assertEquals(i, sorted[i]);
    }
  }

  @Test
  void interleavedAddsAndPollsNeverGoBackInTime() {
    SplittableRandom random = new SplittableRandom(11);
    EventQueue queue = new EventQueue(16);
    long now = 0;
    queue.add(0, 0);
    int processed = 0;
    while (!queue.isEmpty() && processed < 100_000) {
      queue.poll();
      assertTrue(queue.lastTime() >= now, "time went backwards");
      now = queue.lastTime();
      processed++;
      int children = 1 + random.nextInt(2);
      for (int c = 0; c < children && queue.size() < 5_000; c++) {
        queue.add(now + random.nextLong(1_000), processed);
      }
    }
    assertEquals(100_000, processed);
  }

  @Test
  void theSameOperationsGiveTheSameOrderAmongEqualTimes() {
    long[] first = drainWithTies();
    long[] second = drainWithTies();
    org.junit.jupiter.api.Assertions.assertArrayEquals(first, second);
  }

  private static long[] drainWithTies() {
    EventQueue queue = new EventQueue(4);
    for (int i = 0; i < 1_000; i++) {
      queue.add(i % 7, i);
    }
    long[] order = new long[1_000];
    for (int i = 0; i < order.length; i++) {
      order[i] = queue.poll();
    }
    return order;
  }
}
