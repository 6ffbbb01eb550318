package dev.shepherd.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * 100,000 calls to callees that ignore interrupts until a latch opens all time out, and no thread
 * is created for them: the JVM's peak thread count while they run does not exceed the live count
 * measured once the supplied executor, the scheduler and the test's callers were started. When the
 * latch opens and the pools are shut down, the live count returns to where it was before any of
 * them existed.
 *
 * <p>The deadline fires on a real one-thread scheduler with a 50 µs limit; nothing asserts how
 * late it fires, only that every call ends with a {@link TimeoutExceededException}.
 */
@Tag("concurrency")
class TimeoutThreadsTest {

  private static final int CALLS = 100_000;
  private static final int CALLERS = 4;
  private static final int WORKERS = 4;

  @Test
  void timedOutCallsCreateNoThreadAndLeaveNoneBehind() throws Exception {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    List<Thread> created = new CopyOnWriteArrayList<>();
    ThreadFactory recording = r -> {
      Thread t = new Thread(r, "timeout-test-" + created.size());
      t.setDaemon(true);
      created.add(t);
      return t;
    };
    int threadsAtStart = mx.getThreadCount();

    ThreadPoolExecutor callees = new ThreadPoolExecutor(WORKERS, WORKERS, 0, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(1_000), recording);
    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, recording);
    timer.setRemoveOnCancelPolicy(true);
    ThreadPoolExecutor callers = new ThreadPoolExecutor(CALLERS, CALLERS, 0, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), recording);
    callees.prestartAllCoreThreads();
    timer.prestartAllCoreThreads();
    callers.prestartAllCoreThreads();
    int threadsWithPools = mx.getThreadCount();
    assertEquals(threadsAtStart + WORKERS + 1 + CALLERS, threadsWithPools, "another thread came and went");

    Timeout timeout = Timeout.builder().timeout(Duration.ofNanos(50_000)).executor(callees).scheduler(timer)
        .listener(EventListener.noop()).build();
    CountDownLatch upstreamBack = new CountDownLatch(1);
    AtomicInteger timedOut = new AtomicInteger();
    AtomicInteger otherOutcome = new AtomicInteger();
    mx.resetPeakThreadCount();
    try {
      Future<?>[] work = new Future<?>[CALLERS];
      for (int c = 0; c < CALLERS; c++) {
        work[c] = callers.submit(() -> {
          for (int i = 0; i < CALLS / CALLERS; i++) {
            try {
              timeout.call(() -> {
                while (upstreamBack.getCount() > 0) {
                  try {
                    upstreamBack.await();
                  } catch (InterruptedException ignoredOnPurpose) {
                    // this callee ignores interrupts, as the ones that exhaust peers' thread pools do
                  }
                }
                return "late";
              });
              otherOutcome.incrementAndGet();
            } catch (TimeoutExceededException e) {
              timedOut.incrementAndGet();
            } catch (Exception e) {
              otherOutcome.incrementAndGet();
            }
          }
        });
      }
      for (Future<?> f : work) {
        f.get(300, TimeUnit.SECONDS);
      }
      assertEquals(CALLS, timedOut.get());
      assertEquals(0, otherOutcome.get());
      assertEquals(CALLS, timeout.timedOut());
      assertTrue(mx.getPeakThreadCount() <= threadsWithPools,
          "peak " + mx.getPeakThreadCount() + " threads, " + threadsWithPools + " before the calls");
      assertEquals(WORKERS, callees.getLargestPoolSize());
      assertEquals(0, callees.getQueue().size(), "timed-out callees left the queue");
    } finally {
      upstreamBack.countDown();
      callees.shutdown();
      timer.shutdown();
      callers.shutdown();
    }
    for (ExecutorService pool : List.of(callees, timer, callers)) {
      assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS));
    }
    for (Thread t : created) {
      t.join(TimeUnit.SECONDS.toMillis(60));
    }
    assertEquals(WORKERS + 1 + CALLERS, created.size());
    assertEquals(threadsAtStart, mx.getThreadCount(), "the live thread count returns to where it started");
  }
}
