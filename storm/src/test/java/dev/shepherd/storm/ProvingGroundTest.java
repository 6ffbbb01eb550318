package dev.shepherd.storm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.backoff.Backoff;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The proving ground at N / C = 30 s (6,000 clients, 200/s), where a factor of 1.1 means 3 s: the
 * known-bad fleets do not recover, Shepherd's defaults do and are near the ideal, slots are what
 * makes them fast, and the four archetypes are metastable until Shepherd's defaults run both sides.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ProvingGroundTest {

  private static final int N = 6_000;
  private static final int C = 200;
  private static final Scenario SHEPHERD = new Scenario("Shepherd (defaults)", Fleet.shepherd(N),
      ServerTier.shepherd(C), Trigger.fleetDrop(), Duration.ofMinutes(5), 42L);
  private static final Backoff NO_JITTER = Backoff.exponential(Duration.ofSeconds(1), 2.0, Duration.ofMinutes(5));

  @Test
  void immediateRetryAgainstTheOutagesServersNeverRecovers() {
    Outcome o = SHEPHERD.withFleet(Fleet.immediateRetry(N)).withTier(ServerTier.unprotected(C)).run();
    assertFalse(o.recovers());
    assertEquals(-1, o.recoveryNanos(), "not even after the window");
    assertTrue(o.goodputShare() < 0.5, "goodput " + o.goodputShare());
  }

  @Test
  void backoffWithoutJitterDoesNotRecover() {
    Outcome o = SHEPHERD.withFleet(Fleet.backoff(N, NO_JITTER)).withTier(ServerTier.unprotected(C)).run();
    assertFalse(o.recovers(), "recovered in " + o.recoveryInIdeals() + " x N/C");
  }

  @Test
  void shepherdsDefaultsRecoverWithinATenthAboveTheIdealWastingNothing() {
    Outcome o = SHEPHERD.run();
    assertTrue(o.recovers());
    assertTrue(o.recoveryInIdeals() <= 1.10, "recovered in " + o.recoveryInIdeals() + " x N/C");
    assertEquals(0, o.wasted());
    assertTrue(o.attemptsPerClient() <= 2.1, "attempts per client " + o.attemptsPerClient());
    assertTrue(o.peakOfferedPerSecond() <= C + C / 10, "peak offered " + o.peakOfferedPerSecond());
  }

  @Test
  void withoutSlotsTheSameConfigurationIsAtLeastTwiceAsSlow() {
    Outcome with = SHEPHERD.run();
    Outcome without = SHEPHERD.withTier(ServerTier.shepherd(C).withAdmission(Strategies.Admission.TOKEN_BUCKET, false))
        .run();
    assertTrue(without.recoveryNanos() < 0 || without.recoveryNanos() >= 2 * with.recoveryNanos(),
        "with slots " + with.recoveryNanos() + " ns, without " + without.recoveryNanos() + " ns");
  }

  @Test
  void theSameSeedGivesTheSameEventTraceAndAnotherSeedAnother() {
    Scenario small = SHEPHERD.withFleet(Fleet.shepherd(2_000));
    long first = small.run().traceHash();
    assertEquals(first, small.run().traceHash());
    assertNotEquals(first, new Scenario(small.name(), small.fleet(), small.tier(), small.trigger(), small.duration(),
        43L).run().traceHash());
    Scenario storm = small.withFleet(Fleet.immediateRetry(2_000)).withTier(ServerTier.unprotected(C));
    assertEquals(storm.run().traceHash(), storm.run().traceHash());
  }

  @ParameterizedTest
  @EnumSource(Archetype.class)
  void eachArchetypeIsMetastableAndRecoversWithShepherdsDefaults(Archetype archetype) {
    Outcome failing = archetype.scenario(42L).run();
    assertFalse(failing.recovers(), archetype + " recovered in " + failing.recoveryInIdeals() + " x N/C");
    assertTrue(failing.goodputShare() < 0.5, archetype + ": goodput " + failing.goodputShare());
    Outcome cured = archetype.withShepherd(42L).run();
    assertTrue(cured.recovers(), archetype + " with Shepherd: " + cured.recoveryInIdeals() + " x N/C");
    assertEquals(0, cured.wasted());
  }

  @ParameterizedTest
  @EnumSource(value = Archetype.class, names = {"CAPACITY_DROP_RETRIES", "CAPACITY_DROP_DEGRADATION"})
  void withoutTheCapacityDropTheSameSystemRecovers(Archetype archetype) {
    // The trigger matters: the partial drop alone is harmless, so the failure above is metastable.
    Outcome calm = archetype.scenario(42L).withTrigger(Trigger.partialDrop(0.22)).run();
    assertTrue(calm.recovers(), archetype + " without its capacity drop: " + calm.recoveryInIdeals());
  }

  @Test
  void badDescriptionsAreRefusedWithTheParameterAndTheValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Trigger.partialDrop(0));
    assertEquals("dropFraction must be above 0 and at most 1: 0.0", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ServerTier.shepherd(0));
    assertThrows(IllegalArgumentException.class, () -> ServerTier.shepherd(C).withTimeout(Duration.ofMillis(60)));
    assertThrows(IllegalArgumentException.class, () -> Fleet.immediateRetry(0));
    assertThrows(IllegalArgumentException.class, () -> QueuePolicy.deadlineGuard(true, -0.1));
  }
}
