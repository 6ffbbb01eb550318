package dev.shepherd.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class EventQueueTest {

  @Test
  void eventsComeOutInTimeOrderAndTiesInInsertionOrder() {
    // Given many events with colliding times, in random order
    SplittableRandom random = new SplittableRandom(7);
    EventQueue queue = new EventQueue(4);
    List<long[]> reference = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      long time = random.nextLong(500);
      queue.add(time, i);
      reference.add(new long[] {time, i});
    }
    // (a stable sort by time is exactly "time, then insertion order")
    reference.sort(Comparator.comparingLong(event -> event[0]));

    // When they are drained, with more added on the way
    for (long[] expected : reference) {
      long payload = queue.poll();
      // Then each is the earliest, first-in first-out among equal times
      assertEquals(expected[1], payload);
      assertEquals(expected[0], queue.lastTime());
    }
    assertTrue(queue.isEmpty());
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
}
