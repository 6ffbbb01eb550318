package dev.shepherd.storm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RequestQueueTest {

  @Test
  void bothEndsBehaveAsADequeAcrossGrowthAndWrapAround() {
    // Given a queue and a reference deque, driven by the same random operations
    RequestQueue queue = new RequestQueue(4);
    ArrayDeque<long[]> reference = new ArrayDeque<>();
    SplittableRandom random = new SplittableRandom(11);
    for (int step = 0; step < 200_000; step++) {
      int op = random.nextInt(reference.size() > 3_000 ? 2 : 5);
      if (op >= 2 || reference.isEmpty()) {
        int hub = random.nextInt(1_000_000);
        int request = random.nextInt(100);
        long arrival = step;
        queue.addNewest(hub, request, arrival);
        reference.addLast(new long[] {hub, request, arrival});
      } else if (op == 0) {
        long[] oldest = reference.pollFirst();
        assertEquals(oldest[0], queue.oldestHub());
        assertEquals(oldest[1], queue.oldestRequest());
        assertEquals(oldest[2], queue.oldestArrival());
        queue.removeOldest();
      } else {
        long[] newest = reference.pollLast();
        assertEquals(newest[0], queue.newestHub());
        assertEquals(newest[1], queue.newestRequest());
        assertEquals(newest[2], queue.newestArrival());
        queue.removeNewest();
      }
      // Then sizes always agree
      assertEquals(reference.size(), queue.size());
    }
    assertTrue(queue.toString().startsWith("RequestQueue{size="));
  }
}
