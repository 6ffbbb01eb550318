package dev.shepherd.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.core.Event.Kind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class RecordingListenerTest {

  private final RecordingListener listener = new RecordingListener();

  @Test
  void keepsEveryEventInArrivalOrderAndAnswersByKindAndSource() {
    Event retry = new Event("fetch", Kind.RETRY, Duration.ofSeconds(1), "attempt 1 failed", null);
    Event rejected = Event.of("connect", Kind.REJECTED, "full");
    Event gaveUp = Event.of("fetch", Kind.GAVE_UP, "3 attempts");
    listener.onEvent(retry);
    listener.onEvent(rejected);
    listener.onEvent(gaveUp);
    assertEquals(List.of(retry, rejected, gaveUp), listener.events());
    assertEquals(List.of(Kind.RETRY, Kind.REJECTED, Kind.GAVE_UP), listener.kinds());
    assertEquals(List.of(retry, gaveUp), listener.events("fetch"));
    assertEquals(List.of(rejected), listener.events(Kind.REJECTED));
    assertEquals(List.of(), listener.events(Kind.SUCCEEDED));
    assertEquals(1, listener.count(Kind.GAVE_UP));
    assertEquals(List.of(retry), listener.matching(e -> e.delay().compareTo(Duration.ZERO) > 0));
    assertEquals(Optional.of(gaveUp), listener.last());
    assertTrue(listener.toString().contains("REJECTED"));
  }

  @Test
  void snapshotsDoNotChangeAfterwardsAndClearForgets() {
    listener.onEvent(Event.of("a", Kind.FAILED, ""));
    List<Event> before = listener.events();
    listener.onEvent(Event.of("a", Kind.FAILED, ""));
    assertEquals(1, before.size());
    assertThrows(UnsupportedOperationException.class, () -> before.add(Event.of("x", Kind.FAILED, "")));
    listener.clear();
    assertEquals(List.of(), listener.events());
    assertEquals(Optional.empty(), listener.last());
  }

  @Test
  void badArgumentsAreRefused() {
    assertThrows(NullPointerException.class, () -> listener.onEvent(null));
    assertThrows(NullPointerException.class, () -> listener.events((Kind) null));
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> listener.await(e -> true, -1, Duration.ZERO));
    assertEquals("count must be at least 0: -1", bad.getMessage());
  }

  @Test
  void awaitTimesOutWhenTheEventsDoNotCome() throws InterruptedException {
    listener.onEvent(Event.of("a", Kind.RETRY, ""));
    assertTrue(listener.await(e -> e.kind() == Kind.RETRY, 1, Duration.ZERO));
    assertFalse(listener.await(e -> e.kind() == Kind.RETRY, 2, Duration.ofMillis(1)));
  }

  @Test
  @Tag("concurrency")
  @Timeout(30)
  void recordsEveryEventFromManyThreadsAndAwaitSeesThem() throws Exception {
    int threads = 8;
    int perThread = 2_000;
    CyclicBarrier start = new CyclicBarrier(threads);
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      String source = "thread-" + t;
      Thread w = new Thread(() -> {
        try {
          start.await();
        } catch (Exception e) {
          throw new AssertionError(e);
        }
        for (int i = 0; i < perThread; i++) {
          listener.onEvent(Event.of(source, Kind.REJECTED, Integer.toString(i)));
        }
      });
      w.start();
      workers.add(w);
    }
    assertTrue(listener.await(e -> e.kind() == Kind.REJECTED, threads * perThread, Duration.ofSeconds(20)));
    for (Thread w : workers) {
      w.join();
    }
    assertEquals(threads * perThread, listener.count(Kind.REJECTED));
    for (int t = 0; t < threads; t++) {
      List<Event> mine = listener.events("thread-" + t);
      assertEquals(perThread, mine.size());
      Set<String> details = new HashSet<>();
      for (int i = 0; i < perThread; i++) {
        assertEquals(Integer.toString(i), mine.get(i).detail(), "one thread's events keep their order");
        details.add(mine.get(i).detail());
      }
      assertEquals(perThread, details.size());
    }
  }
}
