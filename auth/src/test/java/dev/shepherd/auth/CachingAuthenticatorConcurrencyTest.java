package dev.shepherd.auth;

import static dev.shepherd.auth.FakeBackend.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Tag("concurrency")
@Timeout(60)
class CachingAuthenticatorConcurrencyTest {

  private final ManualClock clock = new ManualClock();
  private final FakeBackend backend = new FakeBackend();

  private CachingAuthenticator.Builder<String> builder() {
    return CachingAuthenticator.builder(backend).ticker(clock).random(new SplittableRandom(3))
        .ttl(Duration.ofSeconds(60)).maxStale(Duration.ofSeconds(60)).listener(e -> { });
  }

  private static DeviceCredentials creds(String id, String secret) {
    return DeviceCredentials.of(id, bytes(secret));
  }

  private static void awaitTrue(java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "condition not reached in 30 s");
      Thread.yield();
    }
  }

  @Test
  void aThousandBlockingThreadsOnFiftyDevicesMakeExactlyFiftyBackendCalls() throws Exception {
    for (int d = 0; d < 50; d++) {
      backend.enroll("hub-" + d, "s-" + d);
    }
    backend.mode = FakeBackend.Mode.PENDING;
    CachingAuthenticator<String> auth = builder().build();
    CountDownLatch go = new CountDownLatch(1);
    ConcurrentLinkedQueue<String> results = new ConcurrentLinkedQueue<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      int d = i % 50;
      Thread t = new Thread(() -> {
        try {
          go.await();
          results.add(auth.authenticate(creds("hub-" + d, "s-" + d)));
        } catch (InterruptedException | RuntimeException e) {
          results.add("failed: " + e);
        }
      });
      t.setDaemon(true);
      t.start();
      threads.add(t);
    }
    try {
      go.countDown();
      awaitTrue(() -> backend.pending().size() >= 50); // every device has a call in flight
    } finally {
      // Whatever happened, release every waiter so the test always terminates.
      backend.mode = FakeBackend.Mode.UP;
      backend.deliverAll(false);
      joinAll(threads);
    }
    assertEquals(1_000, results.size());
    assertTrue(results.stream().allMatch(r -> r.startsWith("principal-hub-")), results.toString());
    assertEquals(50, backend.calls.get());
  }

  /** Joins threads within one overall deadline, interrupting any left over. */
  static void joinAll(List<Thread> threads) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    for (Thread t : threads) {
      t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
    }
    threads.forEach(Thread::interrupt);
    for (Thread t : threads) {
      assertFalse(t.isAlive(), "thread finished");
    }
  }

  /**
   * Issue 14, case 2: right after a rotation, eight threads present the new, right secret at once.
   * None is refused, and each rotation costs the backend exactly one call.
   */
  @Test
  void concurrentRequestsWithTheNewRightSecretAfterARotationShareOneBackendCallAndNoneIsRefused()
      throws Exception {
    int threads = 8;
    int rounds = 200;
    backend.enroll("hub", "s-0");
    CachingAuthenticator<String> auth = builder().executor(Runnable::run).ttl(Duration.ofDays(1))
        .refreshAhead(0).rotationCheckInterval(Duration.ofSeconds(30)).build();
    auth.authenticate(creds("hub", "s-0"));
    ConcurrentLinkedQueue<String> refused = new ConcurrentLinkedQueue<>();
    int[] callsPerRound = new int[rounds];
    // The barrier action runs between rounds, in one thread: rotate, let time pass, count calls.
    java.util.concurrent.atomic.AtomicInteger round = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger callsBefore = new java.util.concurrent.atomic.AtomicInteger();
    CyclicBarrier barrier = new CyclicBarrier(threads, () -> {
      int r = round.get();
      if (r > 0) {
        callsPerRound[r - 1] = backend.calls.get() - callsBefore.get();
      }
      if (r < rounds) {
        clock.advance(Duration.ofSeconds(30));
        backend.enroll("hub", "s-" + (r + 1));
        callsBefore.set(backend.calls.get());
      }
      round.incrementAndGet();
    });
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    List<Future<?>> futures = new ArrayList<>();
    try {
      for (int t = 0; t < threads; t++) {
        futures.add(pool.submit(() -> {
          for (int r = 1; r <= rounds; r++) {
            barrier.await(20, TimeUnit.SECONDS);
            try {
              auth.authenticate(creds("hub", "s-" + r));
            } catch (RuntimeException e) {
              refused.add("round " + r + ": " + e);
            }
          }
          barrier.await(20, TimeUnit.SECONDS);
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get(50, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertTrue(refused.isEmpty(), refused.size() + " of " + threads * rounds + " refused: " + refused);
    for (int r = 0; r < rounds; r++) {
      assertEquals(1, callsPerRound[r], "backend calls in round " + (r + 1));
    }
  }

  @Test
  void invalidateRacingWithAnInFlightAnswerNeverLeavesTheRevokedDeviceCached() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (int round = 0; round < 300; round++) {
        FakeBackend fresh = new FakeBackend().enroll("hub", "s");
        fresh.mode = FakeBackend.Mode.PENDING;
        CachingAuthenticator<String> auth = CachingAuthenticator.builder(fresh).ticker(clock)
            .executor(Runnable::run).listener(e -> { }).build();
        CompletableFuture<String> waiting = auth.authenticateAsync(creds("hub", "s")).toCompletableFuture();
        FakeBackend.Call call = fresh.pending().get(0);
        CyclicBarrier barrier = new CyclicBarrier(2);
        Future<?> revoke = pool.submit(() -> {
          barrier.await();
          fresh.revoked.add("hub");
          auth.invalidate("hub");
          return null;
        });
        Future<?> answer = pool.submit(() -> {
          barrier.await();
          call.future.complete(Verified.of("stale-answer")); // the backend answered before revoking
          return null;
        });
        revoke.get(10, TimeUnit.SECONDS);
        answer.get(10, TimeUnit.SECONDS);
        waiting.handle((v, t) -> null).join();
        fresh.mode = FakeBackend.Mode.UP;
        assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub", "s")), "round " + round);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void anInterruptedWaiterIsRefusedAsUnavailableAndKeepsItsInterruptStatus() throws Exception {
    backend.enroll("hub", "s");
    backend.mode = FakeBackend.Mode.PENDING;
    CachingAuthenticator<String> auth = builder().build();
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    AtomicBoolean stillInterrupted = new AtomicBoolean();
    Thread waiter = new Thread(() -> {
      try {
        auth.authenticate(creds("hub", "s"));
      } catch (RuntimeException e) {
        thrown.set(e);
        stillInterrupted.set(Thread.currentThread().isInterrupted());
      }
    });
    waiter.setDaemon(true);
    waiter.start();
    try {
      awaitTrue(() -> backend.pending().size() == 1 && (waiter.getState() == Thread.State.WAITING
          || waiter.getState() == Thread.State.TIMED_WAITING));
    } finally {
      waiter.interrupt();
      waiter.join(10_000);
    }
    assertTrue(thrown.get() instanceof BackendUnavailableException, String.valueOf(thrown.get()));
    assertTrue(stillInterrupted.get());
    backend.deliverAll(false); // the flight still completes for anyone else
    assertEquals("principal-hub", auth.authenticate(creds("hub", "s")));
  }

  /**
   * A mixed workload on real threads with the default executor: right and wrong secrets, a
   * backend flapping between up and down, invalidations with revocation, and time moving. Wrong
   * secrets are never accepted and revoked devices never accepted after their invalidation.
   */
  @Test
  void underAMixedConcurrentWorkloadNoWrongSecretOrRevokedDeviceIsEverAccepted() throws Exception {
    int devices = 20;
    for (int d = 0; d < devices; d++) {
      backend.enroll("dev-" + d, "s-" + d);
    }
    CachingAuthenticator<String> auth = builder().failureCooldown(Duration.ofSeconds(1))
        .rotationCheckInterval(Duration.ofSeconds(1)).build();
    java.util.Set<String> revokedDone = java.util.concurrent.ConcurrentHashMap.newKeySet();
    ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
    int threads = 6;
    CyclicBarrier start = new CyclicBarrier(threads + 1);
    ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
    List<Future<?>> futures = new ArrayList<>();
    try {
      for (int w = 0; w < threads; w++) {
        int seed = w;
        futures.add(pool.submit(() -> {
          start.await();
          SplittableRandom r = new SplittableRandom(seed);
          for (int i = 0; i < 4_000; i++) {
            int d = r.nextInt(devices);
            String id = "dev-" + d;
            boolean right = r.nextInt(4) != 0;
            boolean revokedBefore = revokedDone.contains(id);
            try {
              auth.authenticate(creds(id, right ? "s-" + d : "guess-" + r.nextInt(3)));
              if (!right) {
                violations.add("accepted a wrong secret for " + id);
              }
              if (revokedBefore) {
                violations.add("accepted " + id + " after its invalidation");
              }
            } catch (AuthenticationException | BackendUnavailableException expected) {
              // refusals are fine here
            }
          }
          return null;
        }));
      }
      futures.add(pool.submit(() -> {
        start.await();
        SplittableRandom r = new SplittableRandom(99);
        for (int i = 0; i < 400; i++) {
          clock.advance(Duration.ofMillis(r.nextInt(2_000)));
          backend.mode = r.nextInt(3) == 0 ? FakeBackend.Mode.DOWN : FakeBackend.Mode.UP;
          if (i % 40 == 39) {
            String id = "dev-" + r.nextInt(devices);
            backend.revoked.add(id);
            auth.invalidate(id);
            revokedDone.add(id);
          }
          Thread.yield();
        }
        return null;
      }));
      for (Future<?> f : futures) {
        f.get(50, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertTrue(violations.isEmpty(), violations.toString());
    assertFalse(revokedDone.isEmpty());
  }
}
