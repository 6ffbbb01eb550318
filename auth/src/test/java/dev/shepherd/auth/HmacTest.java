package dev.shepherd.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class HmacTest {

  private static byte[] message(int i) {
    return ("secret-" + i).getBytes(StandardCharsets.UTF_8);
  }

  /**
   * One thread per digest, as a thread-per-request server on virtual threads does: instances are
   * built only while the pool fills (each miss leaves one more instance in a slot that was empty),
   * so at most as many as the pool has slots, however many threads come.
   */
  @Test
  void aFreshThreadPerDigestReusesPooledInstancesInsteadOfBuildingOneEach() throws Exception {
    Hmac hmac = Hmac.withRandomKey();
    byte[] expected = hmac.digest(message(1));
    for (int i = 0; i < 200; i++) {
      byte[][] out = new byte[1][];
      Thread t = new Thread(() -> out[0] = hmac.digest(message(1)));
      t.start();
      t.join(10_000);
      assertArrayEquals(expected, out[0]);
    }
    assertTrue(hmac.built() <= hmac.slots(), hmac.built() + " instances built for 201 threads, "
        + hmac.slots() + " slots");
    assertEquals(hmac.built(), hmac.pooled(), "every instance built is back in the pool");
  }

  @Test
  void theDigestIsHmacSha256UnderTheInstancesKeyAndDiffersAcrossInstances() {
    Hmac a = Hmac.withRandomKey();
    Hmac b = Hmac.withRandomKey();
    assertEquals(32, a.digest(message(1)).length);
    assertArrayEquals(a.digest(message(1)), a.digest(message(1)));
    assertTrue(!java.util.Arrays.equals(a.digest(message(1)), a.digest(message(2))));
    assertTrue(!java.util.Arrays.equals(a.digest(message(1)), b.digest(message(1))));
  }

  /** Eight threads digesting at once never share an instance: every digest equals the reference. */
  @Test
  @Tag("concurrency")
  void concurrentDigestsAreNeverCorrupted() throws Exception {
    Hmac hmac = Hmac.withRandomKey();
    int n = 64;
    byte[][] reference = new byte[n][];
    for (int i = 0; i < n; i++) {
      reference[i] = hmac.digest(message(i));
    }
    int threads = 8;
    CyclicBarrier start = new CyclicBarrier(threads);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    List<Future<Integer>> results = new ArrayList<>();
    try {
      for (int t = 0; t < threads; t++) {
        int offset = t;
        results.add(pool.submit(() -> {
          start.await(10, TimeUnit.SECONDS);
          int wrong = 0;
          for (int k = 0; k < 20_000; k++) {
            int i = (k + offset) % n;
            if (!java.util.Arrays.equals(reference[i], hmac.digest(message(i)))) {
              wrong++;
            }
          }
          return wrong;
        }));
      }
      for (Future<Integer> r : results) {
        assertEquals(0, r.get(50, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
