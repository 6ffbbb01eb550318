package dev.shepherd.virtualthreads;

import static dev.shepherd.virtualthreads.PinnedEvents.THREADS;
import static dev.shepherd.virtualthreads.PinnedEvents.during;
import static dev.shepherd.virtualthreads.PinnedEvents.onVirtualThreads;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.auth.AuthenticationException;
import dev.shepherd.auth.Authenticator;
import dev.shepherd.auth.CachingAuthenticator;
import dev.shepherd.auth.DeviceCredentials;
import dev.shepherd.auth.Verified;
import dev.shepherd.backoff.Backoff;
import dev.shepherd.backoff.Reconnector;
import dev.shepherd.bulkhead.Bulkhead;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.ratelimit.TokenBucket;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import jdk.jfr.consumer.RecordedEvent;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * 10,000 virtual threads through each of Shepherd's blocking paths, each run under a JFR recording
 * that must show no pinned carrier: a virtual thread parked inside {@code synchronized} (on Java
 * 21-23) or a native frame would show up as a {@code jdk.VirtualThreadPinned} event.
 *
 * <p>Each workload is run once on the test's platform thread before the recording starts. The JVM
 * still pins a virtual thread that waits for a class to be initialised by another thread (seen here:
 * {@code javax.crypto.JceSecurity} behind the first {@code Mac.getInstance}); that happens once per
 * class and JVM, not per call, and is not Shepherd's doing, so the recording covers the steady state.
 */
@Tag("concurrency")
@Timeout(180)
class VirtualThreadPinningTest {

  @Test
  void theRecordingSeesPinningWhenThereIsSome() throws Exception {
    // Control: a virtual thread that blocks inside a class initializer stays pinned on every JDK
    // up to 25, so the recording must report it; otherwise a count of 0 below would prove nothing.
    List<RecordedEvent> pinned = during("control (blocking in a class initializer)", () -> {
      Thread t = Thread.ofVirtual().start(() -> {
        if (SlowInit.VALUE != 1) {
          throw new AssertionError();
        }
      });
      t.join(TimeUnit.SECONDS.toMillis(30));
      assertFalse(t.isAlive());
    });
    assertFalse(pinned.isEmpty(), "the recording saw no pinning at all: the checks below would be void");
  }

  /** Blocks (parks) while it is being initialised. */
  static final class SlowInit {
    static final int VALUE;

    static {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
      VALUE = 1;
    }
  }

  @Test
  void tenThousandVirtualThreadsWaitForABulkheadWithoutPinning() throws Exception {
    for (boolean fair : new boolean[] {false, true}) {
      Bulkhead bulkhead = Bulkhead.builder().name("db").maxConcurrent(8).maxWait(Duration.ofSeconds(60))
          .fair(fair).listener(EventListener.noop()).build();
      AtomicInteger inFlight = new AtomicInteger();
      AtomicInteger maxSeen = new AtomicInteger();
      LongAdder ran = new LongAdder();
      bulkhead.run(() -> LockSupport.parkNanos(1_000)); // warm-up, see the class comment
      bulkhead.get(() -> 1);
      bulkhead.call(() -> 1);
      List<RecordedEvent> pinned = during("Bulkhead (fair=" + fair + ")", () -> onVirtualThreads(i -> {
        Runnable work = () -> {
          maxSeen.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
          LockSupport.parkNanos(50_000); // the upstream call: the others queue for a permit meanwhile
          inFlight.decrementAndGet();
          ran.increment();
        };
        switch (i % 3) {
          case 0 -> bulkhead.run(work);
          case 1 -> bulkhead.get(() -> {
            work.run();
            return null;
          });
          default -> bulkhead.call(() -> {
            work.run();
            return null;
          });
        }
      }));
      assertEquals(0, pinned.size(), "pinned events");
      assertEquals(THREADS, ran.sum());
      assertTrue(maxSeen.get() <= 8, "in flight at once: " + maxSeen.get());
      assertEquals(0, bulkhead.inFlight());
      assertEquals(0, bulkhead.waiting());
      assertEquals(8, bulkhead.available());
    }
  }

  @Test
  void tenThousandVirtualThreadsSleepForTokenBucketPermitsWithoutPinning() throws Exception {
    // 20,000 permits a second after a burst of 10: most of the 10,000 callers reserve a permit in
    // the future and sleep until it is due, on the real sleeper (a virtual thread's park).
    LongAdder sleeps = new LongAdder();
    Sleeper counting = d -> {
      sleeps.increment();
      Sleeper.system().sleep(d);
    };
    TokenBucket bucket = TokenBucket.builder().name("connect").rate(20_000, Duration.ofSeconds(1)).burst(10)
        .sleeper(counting).listener(EventListener.noop()).build();
    // Warm-up, see the class comment: the burst, then one permit that waits 50 us.
    assertTrue(bucket.tryAcquire(10, Duration.ZERO));
    assertTrue(bucket.tryAcquire(1, Duration.ofSeconds(1)));
    long sleptInWarmUp = sleeps.sum();
    LongAdder granted = new LongAdder();
    List<RecordedEvent> pinned = during("TokenBucket.tryAcquire(1, 30 s)", () -> onVirtualThreads(i -> {
      if (bucket.tryAcquire(1, Duration.ofSeconds(30))) {
        granted.increment();
      }
    }));
    System.out.println("[virtual-threads] TokenBucket: " + (sleeps.sum() - sleptInWarmUp) + " of " + THREADS
        + " callers slept");
    assertEquals(0, pinned.size(), "pinned events");
    assertEquals(THREADS, granted.sum(), "every reservation within 30 s is honoured");
    assertEquals(THREADS + 2, bucket.grantedCount());
    assertTrue(sleeps.sum() > sleptInWarmUp, "the waiting path was exercised");
  }

  /** A connection whose loss the test decides. */
  static final class FakeConnection implements Reconnector.Connection {
    final CompletableFuture<Void> closed = new CompletableFuture<>();
    volatile boolean closeCalled;

    @Override
    public CompletionStage<?> closed() {
      return closed;
    }

    @Override
    public void close() {
      closeCalled = true;
      closed.complete(null);
    }
  }

  /**
   * Starts {@code n} reconnectors on virtual threads; each fails once, connects, loses its
   * connection when the "server" drops everybody at once, connects again, and is closed. Returns
   * the second connections, by reconnector.
   */
  private static ConcurrentHashMap<Integer, FakeConnection> fleet(int n) throws Exception {
    ThreadFactory virtual = Thread.ofVirtual().name("reconnector-", 0).factory();
    CountDownLatch firstUp = new CountDownLatch(n);
    CountDownLatch secondUp = new CountDownLatch(n);
    List<Reconnector<FakeConnection>> reconnectors = new ArrayList<>(n);
    ConcurrentHashMap<Integer, FakeConnection> firsts = new ConcurrentHashMap<>();
    ConcurrentHashMap<Integer, FakeConnection> seconds = new ConcurrentHashMap<>();
    for (int i = 0; i < n; i++) {
      int id = i;
      AtomicInteger attempts = new AtomicInteger();
      Reconnector<FakeConnection> r = Reconnector.<FakeConnection>builder(() -> {
        int attempt = attempts.incrementAndGet();
        if (attempt == 1) {
          throw new IOException("refused"); // one backoff wait before the first connection
        }
        FakeConnection c = new FakeConnection();
        if (attempt == 2) {
          firsts.put(id, c);
          firstUp.countDown();
        } else {
          seconds.put(id, c);
          secondUp.countDown();
        }
        return c;
      }).name("hub-" + id).backoff(Backoff.constant(Duration.ofMillis(2))).initialSpread(Duration.ofMillis(5))
          .random(new SplittableRandom(id)).threadFactory(virtual).listener(EventListener.noop()).build();
      reconnectors.add(r);
      r.start();
    }
    assertTrue(firstUp.await(60, TimeUnit.SECONDS), "every reconnector connected once");
    for (FakeConnection c : firsts.values()) {
      c.closed.completeExceptionally(new IOException("connection reset"));
    }
    assertTrue(secondUp.await(60, TimeUnit.SECONDS), "every reconnector came back");
    for (Reconnector<FakeConnection> r : reconnectors) {
      r.close();
    }
    for (Reconnector<FakeConnection> r : reconnectors) {
      assertTrue(r.awaitTermination(Duration.ofSeconds(30)), r.name() + " stopped");
    }
    return seconds;
  }

  @Test
  void tenThousandReconnectorsOnVirtualThreadsReconnectAndStopWithoutPinning() throws Exception {
    assertEquals(1, fleet(1).size()); // warm-up, see the class comment
    List<ConcurrentHashMap<Integer, FakeConnection>> result = new ArrayList<>();
    List<RecordedEvent> pinned = during("Reconnector", () -> result.add(fleet(THREADS)));
    assertEquals(0, pinned.size(), "pinned events");
    assertEquals(THREADS, result.get(0).size());
    assertTrue(result.get(0).values().stream().allMatch(c -> c.closeCalled), "close() closed every live connection");
  }

  @Test
  void tenThousandVirtualThreadsAuthenticateThroughTheCacheWithoutPinning() throws Exception {
    int devices = 1_000;
    LongAdder backendCalls = new LongAdder();
    // A blocking backend (a database lookup, say): it runs on the calling virtual thread.
    Authenticator<DeviceCredentials, String> database = credentials -> {
      backendCalls.increment();
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
      String expected = "secret-" + credentials.deviceId();
      if (!expected.equals(new String(credentials.secret(), StandardCharsets.UTF_8))) {
        throw new AuthenticationException("wrong secret for " + credentials.deviceId());
      }
      return "principal-" + credentials.deviceId();
    };
    CachingAuthenticator<String> auth = CachingAuthenticator.builder(database.map(Verified::of))
        .name("devices").listener(EventListener.noop()).build();
    // Warm-up, see the class comment: a miss, a hit and a refusal for a device the run does not use.
    byte[] good = "secret-warm-up".getBytes(StandardCharsets.UTF_8);
    assertEquals("principal-warm-up", auth.authenticate(DeviceCredentials.of("warm-up", good)));
    assertEquals("principal-warm-up", auth.authenticate(DeviceCredentials.of("warm-up", good)));
    assertThrows(AuthenticationException.class, () -> auth.authenticate(
        DeviceCredentials.of("warm-up", "wrong".getBytes(StandardCharsets.UTF_8))));
    backendCalls.reset();
    LongAdder accepted = new LongAdder();
    LongAdder refused = new LongAdder();
    List<RecordedEvent> pinned = during("CachingAuthenticator", () -> onVirtualThreads(i -> {
      String device = "hub-" + (i % devices);
      boolean wrong = i % 100 == 99;
      byte[] secret = ((wrong ? "not-" : "") + "secret-" + device).getBytes(StandardCharsets.UTF_8);
      DeviceCredentials credentials = DeviceCredentials.of(device, secret);
      if (wrong) {
        assertThrows(AuthenticationException.class, () -> auth.authenticate(credentials));
        refused.increment();
      } else {
        assertEquals("principal-" + device, auth.authenticate(credentials));
        accepted.increment();
      }
    }));
    System.out.println("[virtual-threads] CachingAuthenticator: " + backendCalls.sum() + " backend calls for "
        + THREADS + " requests over " + devices + " devices");
    assertEquals(0, pinned.size(), "pinned events");
    assertEquals(THREADS - THREADS / 100, accepted.sum());
    assertEquals(THREADS / 100, refused.sum());
    assertTrue(backendCalls.sum() >= devices, "each device verified at least once: " + backendCalls.sum());
    assertTrue(backendCalls.sum() < THREADS / 2, "the cache absorbed the storm: " + backendCalls.sum());
  }
}
