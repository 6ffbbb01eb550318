package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Bad configuration fails in the factory, naming the parameter and the value it got. */
class BackoffValidationTest {

  private static final Duration ONE = Duration.ofSeconds(1);
  private static final Duration TEN = Duration.ofSeconds(10);

  private static void rejects(String message, Executable factory) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, factory);
    assertEquals(message, e.getMessage());
  }

  @Test
  void zeroAndNegativeDurationsAreRejected() {
    rejects("delay must be positive: PT0S", () -> Backoff.constant(Duration.ZERO));
    rejects("delay must be positive: PT-1S", () -> Backoff.constant(ONE.negated()));
    rejects("base must be positive: PT0S", () -> Backoff.linear(Duration.ZERO, ONE, TEN));
    rejects("step must be positive: PT0S", () -> Backoff.linear(ONE, Duration.ZERO, TEN));
    rejects("cap must be positive: PT-0.000000001S", () -> Backoff.linear(ONE, ONE, Duration.ofNanos(-1)));
    rejects("base must be positive: PT0S", () -> Backoff.exponential(Duration.ZERO, 2, TEN));
    rejects("cap must be positive: PT0S", () -> Backoff.exponential(ONE, 2, Duration.ZERO));
    rejects("base must be positive: PT0S", () -> Backoff.fullJitter(Duration.ZERO, TEN));
    rejects("cap must be positive: PT-10S", () -> Backoff.fullJitter(ONE, TEN.negated()));
    rejects("base must be positive: PT0S", () -> Backoff.equalJitter(Duration.ZERO, TEN));
    rejects("base must be positive: PT0S", () -> Backoff.decorrelatedJitter(Duration.ZERO, TEN));
    rejects("medianFirstDelay must be positive: PT0S", () -> Backoff.decorrelatedJitterV2(Duration.ZERO, TEN));
    rejects("cap must be positive: PT0S", () -> Backoff.decorrelatedJitterV2(ONE, Duration.ZERO));
  }

  @Test
  void aBaseAboveTheCapIsRejected() {
    rejects("base must be at most cap (PT1S): PT10S", () -> Backoff.linear(TEN, ONE, ONE));
    rejects("base must be at most cap (PT1S): PT10S", () -> Backoff.exponential(TEN, 2, ONE));
    rejects("base must be at most cap (PT1S): PT10S", () -> Backoff.fullJitter(TEN, ONE));
    rejects("base must be at most cap (PT1S): PT10S", () -> Backoff.equalJitter(TEN, ONE));
    rejects("base must be at most cap (PT1S): PT10S", () -> Backoff.decorrelatedJitter(TEN, ONE));
    rejects("medianFirstDelay must be at most cap (PT1S): PT10S", () -> Backoff.decorrelatedJitterV2(TEN, ONE));
  }

  @Test
  void multipliersBelowOneOrNotFiniteAreRejected() {
    rejects("multiplier must be finite and at least 1: 0.5", () -> Backoff.exponential(ONE, 0.5, TEN));
    rejects("multiplier must be finite and at least 1: -2.0", () -> Backoff.exponential(ONE, -2, TEN));
    rejects("multiplier must be finite and at least 1: NaN", () -> Backoff.exponential(ONE, Double.NaN, TEN));
    rejects("multiplier must be finite and at least 1: Infinity",
        () -> Backoff.exponential(ONE, Double.POSITIVE_INFINITY, TEN));
  }

  @Test
  void jitterFactorsOutsideZeroToOneAreRejected() {
    Backoff exponential = Backoff.exponential(ONE, 2, TEN);
    rejects("factor must be in [0, 1): 1.0", () -> exponential.withJitter(1));
    rejects("factor must be in [0, 1): -0.1", () -> exponential.withJitter(-0.1));
    rejects("factor must be in [0, 1): NaN", () -> exponential.withJitter(Double.NaN));
    rejects("factor must be in [0, 1): Infinity", () -> exponential.withJitter(Double.POSITIVE_INFINITY));
  }

  @Test
  void grpcConfigurationIsValidatedAtBuildTime() {
    rejects("initialBackoff must be positive: PT0S", () -> GrpcConfig.builder().initialBackoff(Duration.ZERO).build());
    rejects("maxBackoff must be positive: PT-1S", () -> GrpcConfig.builder().maxBackoff(ONE.negated()).build());
    rejects("initialBackoff must be at most maxBackoff (PT1S): PT10S",
        () -> GrpcConfig.builder().initialBackoff(TEN).maxBackoff(ONE).build());
    rejects("multiplier must be finite and at least 1: 0.9", () -> GrpcConfig.builder().multiplier(0.9).build());
    rejects("multiplier must be finite and at least 1: NaN", () -> GrpcConfig.builder().multiplier(Double.NaN).build());
    rejects("jitter must be in [0, 1): 1.5", () -> GrpcConfig.builder().jitter(1.5).build());
    rejects("jitter must be in [0, 1): NaN", () -> GrpcConfig.builder().jitter(Double.NaN).build());
  }

  @Test
  void nullsAreRejectedWithTheParameterName() {
    NullPointerException e = assertThrows(NullPointerException.class, () -> Backoff.fullJitter(null, TEN));
    assertEquals("base", e.getMessage());
    assertEquals("cap", assertThrows(NullPointerException.class, () -> Backoff.fullJitter(ONE, null)).getMessage());
    assertEquals("config", assertThrows(NullPointerException.class, () -> Backoff.grpc(null)).getMessage());
    assertEquals("maxBackoff",
        assertThrows(NullPointerException.class, () -> GrpcConfig.builder().maxBackoff(null)).getMessage());
  }

  @Test
  void durationsBeyondTheLongRangeSaturateInsteadOfFailing() {
    // About 292 years is Long.MAX_VALUE nanoseconds; a longer cap is accepted and saturates there.
    Backoff backoff = Backoff.fullJitter(ONE, Duration.ofDays(365L * 1000));
    assertEquals(Long.MAX_VALUE, ((BuiltInBackoff) backoff).capNanos());
  }
}
