package dev.shepherd.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigInteger;
import java.time.Duration;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

class DurationsProperties {

  private static final BigInteger MAX = BigInteger.valueOf(Long.MAX_VALUE);
  private static final BigInteger MIN = BigInteger.valueOf(Long.MIN_VALUE);

  private static long clamp(BigInteger exact) {
    return exact.max(MIN).min(MAX).longValueExact();
  }

  @Property
  void saturatedAddEqualsTheClampedExactSum(@ForAll long a, @ForAll long b) {
    assertEquals(clamp(BigInteger.valueOf(a).add(BigInteger.valueOf(b))), Durations.saturatedAdd(a, b));
  }

  @Property
  void saturatedMultiplyEqualsTheClampedExactProduct(@ForAll long a, @ForAll long b) {
    assertEquals(clamp(BigInteger.valueOf(a).multiply(BigInteger.valueOf(b))), Durations.saturatedMultiply(a, b));
  }

  @Property
  void toNanosSaturatedEqualsTheClampedExactLength(@ForAll long seconds, @ForAll @IntRange(min = 0, max = 999_999_999) int nanos) {
    Duration d = Duration.ofSeconds(seconds, nanos);
    BigInteger exact = BigInteger.valueOf(d.getSeconds()).multiply(BigInteger.valueOf(1_000_000_000L))
        .add(BigInteger.valueOf(d.getNano()));
    assertEquals(clamp(exact), Durations.toNanosSaturated(d));
  }
}
