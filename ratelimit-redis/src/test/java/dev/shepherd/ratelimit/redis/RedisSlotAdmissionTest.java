package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.ratelimit.SlotAdmission;
import dev.shepherd.ratelimit.SlotRefusedException;
import dev.shepherd.ratelimit.SlotTicket;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The fleet's slot schedule on a real redis-server: one schedule, portable tickets, the fallback. */
@ExtendWith(Redis.class)
@Timeout(120)
class RedisSlotAdmissionTest {

  private static final byte[] KEY = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  private static final long START = 1_700_000_000_000L;

  private static RedisSlotAdmission.Builder admission(Redis redis, String key) {
    return RedisSlotAdmission.builder().name("connect").key(key).connection(redis.connect())
        .ticketKey(KEY).timeout(Redis.ANSWER_TIMEOUT).listener(EventListener.noop());
  }

  @Test
  @Tag("concurrency")
  void threeServersHammeringOneScheduleNeverPromiseMoreThanBurstPlusDOverI(Redis redis) throws Exception {
    String key = Redis.freshKey("slots");
    int servers = 3;
    int callers = 150;
    int burst = 5;
    // 1000 per second, no headroom: I = 1 ms = 1000 µs exactly, in Redis's microseconds.
    List<RedisSlotAdmission> fleet = new ArrayList<>();
    ConcurrentLinkedQueue<long[]> decisions = new ConcurrentLinkedQueue<>();
    for (int s = 0; s < servers; s++) {
      RedisSlotAdmission a = admission(redis, key).permitsPerSecond(1000).headroom(0).burst(burst).build();
      a.observer = (redisMicros, decision) -> decisions.add(new long[] {redisMicros, decision});
      fleet.add(a);
    }
    assertEquals(Duration.ofMillis(1), fleet.get(0).interval());
    ConcurrentLinkedQueue<SlotTicket> tickets = new ConcurrentLinkedQueue<>();
    ExecutorService pool = Executors.newFixedThreadPool(servers);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> done = new ArrayList<>();
      for (int s = 0; s < servers; s++) {
        RedisSlotAdmission a = fleet.get(s);
        int server = s;
        done.add(pool.submit(() -> {
          assertTrue(go.await(20, TimeUnit.SECONDS));
          for (int c = 0; c < callers; c++) {
            try {
              a.acquire(server * 1000L + c);
            } catch (SlotRefusedException refused) {
              assertTrue(refused.isPersonalSlot(), "the horizon (1 h) holds every slot");
              tickets.add(refused.ticket().orElseThrow());
            }
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
      assertTrue(pool.awaitTermination(20, TimeUnit.SECONDS));
    }
    assertEquals(servers * callers, decisions.size(), "every caller decided by Redis");
    long[] instants = new long[decisions.size()];
    List<Long> slots = new ArrayList<>();
    int i = 0;
    for (long[] d : decisions) {
      assertTrue(d[1] >= 0, "admitted or slotted, never beyond the horizon: " + d[1]);
      instants[i++] = d[0] + d[1]; // admission at the script's instant, a slot at its reserved one
      if (d[1] > 0) {
        slots.add(d[0] + d[1]);
      }
    }
    Arrays.sort(instants);
    for (int a = 0; a < instants.length; a++) {
      for (int b = a; b < instants.length; b++) {
        long d = instants[b] - instants[a];
        assertTrue(b - a + 1 <= burst + d / 1000, (b - a + 1) + " admissions and slots within " + d + " µs");
      }
    }
    slots.sort(null);
    for (int s = 1; s < slots.size(); s++) {
      assertTrue(slots.get(s) - slots.get(s - 1) >= 1000, "slots at least I apart");
    }
    long admitted = 0;
    long slotted = 0;
    for (RedisSlotAdmission a : fleet) {
      admitted += a.admittedCount();
      slotted += a.slotCount();
    }
    assertEquals(servers * callers, admitted + slotted);
    assertEquals(slotted, tickets.size());
    assertTrue(slotted >= servers * callers - burst - 100, "the fleet shares one schedule: " + slotted + " slots");
  }

  @Test
  void aTicketIssuedByOneServerIsHonouredByAnotherAndByALocalAdmissionWithTheKey(Redis redis) throws Exception {
    String key = Redis.freshKey("tickets");
    WallClock wall = new WallClock(START);
    RedisSlotAdmission a = admission(redis, key).permitsPerSecond(10).headroom(0).burst(1).clock(wall).build();
    RedisSlotAdmission b = admission(redis, key).permitsPerSecond(10).headroom(0).burst(1).clock(wall).build();
    a.acquire(1); // the burst
    SlotRefusedException refused = assertThrows(SlotRefusedException.class, () -> a.acquire(2));
    SlotTicket ticket = refused.ticket().orElseThrow();
    long waitMillis = refused.retryAfterNanos() / 1_000_000;
    assertTrue(waitMillis > 0 && waitMillis <= 100, "one interval, less the script's time: " + waitMillis);
    assertEquals(START + waitMillis, ticket.slotEpochMillis());
    SlotTicket carried = SlotTicket.parse(ticket.toString()); // it travels as a header

    // Early on b: refused with the same ticket and the time left, and Redis is not asked.
    SlotRefusedException early = assertThrows(SlotRefusedException.class, () -> b.acquire(2, carried));
    assertEquals(carried, early.ticket().orElseThrow());
    assertEquals(waitMillis * 1_000_000, early.retryAfterNanos());
    // Another caller with the ticket, or a tampered one: decided as if it had none (b takes a slot).
    SlotTicket forged = SlotTicket.parse(ticket.slotEpochMillis() + "." + "0123456789abcdef");
    SlotRefusedException stolen = assertThrows(SlotRefusedException.class, () -> b.acquire(3, carried));
    assertNotEquals(carried, stolen.ticket().orElseThrow());
    assertThrows(SlotRefusedException.class, () -> b.acquire(2, forged));
    assertEquals(2, b.slotCount());

    wall.set(ticket.slotEpochMillis());
    b.acquire(2, carried);
    assertEquals(1, b.redeemedCount());
    assertEquals(0, b.admittedCount(), "admitted by the ticket, not the schedule");
    // A one-server SlotAdmission with the same key honours it too: the tickets are one format.
    SlotAdmission plain = SlotAdmission.builder().permitsPerSecond(1).burst(1).ticketKey(KEY).clock(wall)
        .ticker(ManualClock.instant()).listener(EventListener.noop()).build();
    plain.acquire(99); // its own burst
    plain.acquire(2, carried);
    assertEquals(1, plain.redeemedCount());
    // After the grace window (1 s), the ticket is decided as none.
    wall.set(ticket.slotEpochMillis() + 1000);
    assertThrows(SlotRefusedException.class, () -> plain.acquire(2, carried));
  }

  @Test
  void callersBeyondTheHorizonGetSpreadSharedHintsWithoutATicket(Redis redis) {
    String key = Redis.freshKey("horizon");
    // 10 per second, burst 1, horizon 1 s: the burst and about ten slots, then hints.
    RedisSlotAdmission a = admission(redis, key).permitsPerSecond(10).headroom(0).burst(1)
        .horizon(Duration.ofSeconds(1)).build();
    List<Long> hints = new ArrayList<>();
    for (int c = 0; c < 30; c++) {
      try {
        a.acquire(c);
      } catch (SlotRefusedException refused) {
        if (!refused.isPersonalSlot()) {
          assertTrue(refused.ticket().isEmpty());
          hints.add(refused.retryAfterNanos());
        }
      }
    }
    assertEquals(1, a.admittedCount());
    assertTrue(a.slotCount() >= 9 && a.slotCount() <= 11, "a second of slots at 10 per second: " + a.slotCount());
    assertEquals(30 - 1 - a.slotCount(), a.beyondHorizonCount());
    assertEquals(a.beyondHorizonCount(), hints.size());
    // The hints are spread over the following horizon, not one cohort: all distinct.
    assertEquals(hints.size(), hints.stream().distinct().count());
    for (long h : hints) {
      assertTrue(h > 0 && h <= Duration.ofSeconds(2).toNanos() + Duration.ofMillis(200).toNanos(), "hint " + h);
    }
  }

  @Test
  void whenRedisStopsTheFleetShareDecidesLocallyWithinTheTimeoutAndTicketsStayValid() {
    Duration timeout = Duration.ofSeconds(1);
    long bound = timeout.toNanos() + TimeUnit.SECONDS.toNanos(1); // the Redis tests' slack
    try (Redis redis = Redis.startNew()) {
      ManualClock ticker = ManualClock.instant();
      WallClock wall = new WallClock(START);
      // The fleet: 400 per second, burst 40, over 4 servers: this one's share is 100 per second, burst 10.
      RedisSlotAdmission a = RedisSlotAdmission.builder().name("connect").key("fleet").connection(redis.connect())
          .ticketKey(KEY).permitsPerSecond(400).headroom(0).burst(40).expectedServers(4)
          .timeout(timeout).ticker(ticker).clock(wall).listener(EventListener.noop()).build();
      assertEquals(Duration.ofMillis(10), a.fallbackShare().interval());
      assertEquals(10, a.fallbackShare().burst());
      a.acquire(1);
      SlotTicket before = null;
      long holder = 0;
      for (int c = 2; before == null && c < 10_000; c++) {
        try {
          a.acquire(c);
        } catch (SlotRefusedException refused) {
          before = refused.ticket().orElseThrow();
          holder = c;
        }
      }
      assertFalse(a.fallbackActive());

      redis.server().stop();
      int admitted = 0;
      List<SlotTicket> local = new ArrayList<>();
      for (int c = 0; c < 30; c++) {
        long start = System.nanoTime();
        try {
          a.acquire(1000 + c);
          admitted++;
        } catch (SlotRefusedException refused) {
          local.add(refused.ticket().orElseThrow());
        }
        assertTrue(System.nanoTime() - start < bound, "check " + c + " was stuck");
      }
      assertTrue(a.fallbackActive());
      assertEquals(30, a.fallbackCount());
      assertEquals(10, admitted, "the local share's burst, no more (the ticker stands still)");
      assertEquals(20, local.size(), "the rest get personal slots on the local share, 10 ms apart");
      for (int s = 1; s < local.size(); s++) {
        assertEquals(10, local.get(s).slotEpochMillis() - local.get(s - 1).slotEpochMillis());
      }
      // A ticket Redis's schedule issued is honoured while Redis is down.
      wall.set(before.slotEpochMillis());
      long redeemedBefore = a.redeemedCount();
      a.acquire(holder, before);
      assertEquals(redeemedBefore + 1, a.redeemedCount());
    }
  }

  @Test
  void badBuilderInputNamesTheParameter(Redis redis) {
    RedisSlotAdmission.Builder b = RedisSlotAdmission.builder();
    assertMessage("permitsPerSecond", assertThrows(IllegalArgumentException.class, () -> b.permitsPerSecond(0)));
    assertMessage("headroom", assertThrows(IllegalArgumentException.class, () -> b.headroom(0.9)));
    assertMessage("burst", assertThrows(IllegalArgumentException.class, () -> b.burst(0)));
    assertMessage("horizon", assertThrows(IllegalArgumentException.class, () -> b.horizon(Duration.ZERO)));
    assertMessage("grace", assertThrows(IllegalArgumentException.class, () -> b.grace(Duration.ofHours(2))));
    assertMessage("ticketKey", assertThrows(IllegalArgumentException.class, () -> b.ticketKey(new byte[15])));
    assertMessage("timeout", assertThrows(IllegalArgumentException.class, () -> b.timeout(Duration.ZERO)));
    assertMessage("coolDown", assertThrows(IllegalArgumentException.class, () -> b.coolDown(Duration.ofSeconds(-1))));
    assertMessage("expectedServers", assertThrows(IllegalArgumentException.class, () -> b.expectedServers(0)));
    assertMessage("heartbeat", assertThrows(IllegalArgumentException.class, () -> b.heartbeat(Duration.ofDays(2))));
    assertMessage("key", assertThrows(IllegalArgumentException.class, () -> b.key("")));
    assertMessage("name", assertThrows(IllegalArgumentException.class, () -> b.name(" ")));
    assertThrows(NullPointerException.class, () -> b.clock(null));
    // Required settings: a rate, a connection, a shared ticket key.
    assertTrue(assertThrows(IllegalStateException.class, () -> RedisSlotAdmission.builder().build())
        .getMessage().contains("ticketKey"));
    assertTrue(assertThrows(IllegalStateException.class,
        () -> RedisSlotAdmission.builder().ticketKey(KEY).build()).getMessage().contains("rate"));
    assertTrue(assertThrows(IllegalStateException.class,
        () -> RedisSlotAdmission.builder().ticketKey(KEY).permitsPerSecond(1).build()).getMessage()
        .contains("connection"));
    // A burst Redis's arithmetic cannot hold at the rate.
    assertMessage("burst", assertThrows(IllegalArgumentException.class, () -> RedisSlotAdmission.builder()
        .connection(redis.connect()).ticketKey(KEY).permitsPerSecond(0.001).burst(Integer.MAX_VALUE).build()));
  }

  private static void assertMessage(String parameter, IllegalArgumentException e) {
    assertTrue(e.getMessage().startsWith(parameter + " must be "), e.getMessage());
  }
}
