package dev.shepherd.jpmscheck;

import dev.shepherd.auth.CachingAuthenticator;
import dev.shepherd.auth.DeviceCredentials;
import dev.shepherd.auth.Verified;
import dev.shepherd.backoff.Backoff;
import dev.shepherd.bulkhead.Bulkhead;
import dev.shepherd.circuitbreaker.CircuitBreaker;
import dev.shepherd.core.Ticker;
import dev.shepherd.micrometer.RateLimiterMetrics;
import dev.shepherd.ratelimit.TokenBucket;
import dev.shepherd.ratelimit.redis.RedisRateLimiter;
import dev.shepherd.storm.Strategies;
import dev.shepherd.testing.ManualClock;
import io.lettuce.core.RedisURI;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.module.ModuleDescriptor;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Run on the module path by {@code mvn verify}: checks each library module's descriptor as the JVM
 * resolved it, then uses every module once, as a user's named module would. Any failure exits 1,
 * which fails the build.
 */
public final class JpmsCheck {

  /** Every library module and the only packages it may export to everybody. */
  private static final Map<String, Set<String>> API = Map.ofEntries(
      Map.entry("dev.shepherd.core", Set.of("dev.shepherd.core")),
      Map.entry("dev.shepherd.testing", Set.of("dev.shepherd.testing")),
      Map.entry("dev.shepherd.backoff", Set.of("dev.shepherd.backoff")),
      Map.entry("dev.shepherd.ratelimit", Set.of("dev.shepherd.ratelimit")),
      Map.entry("dev.shepherd.ratelimit.redis", Set.of("dev.shepherd.ratelimit.redis")),
      Map.entry("dev.shepherd.bulkhead", Set.of("dev.shepherd.bulkhead")),
      Map.entry("dev.shepherd.circuitbreaker", Set.of("dev.shepherd.circuitbreaker")),
      Map.entry("dev.shepherd.auth", Set.of("dev.shepherd.auth")),
      Map.entry("dev.shepherd.micrometer", Set.of("dev.shepherd.micrometer")),
      Map.entry("dev.shepherd.storm", Set.of("dev.shepherd.storm")));

  private static final String CORE_INTERNAL = "dev.shepherd.core.internal";

  private final List<String> failures = new ArrayList<>();

  private JpmsCheck() {}

  /**
   * Runs the check.
   *
   * @param args ignored
   * @throws Exception if using a module throws: the JVM then exits non-zero, as it should
   */
  public static void main(String[] args) throws Exception {
    JpmsCheck check = new JpmsCheck();
    check.descriptors();
    check.usage();
    if (!check.failures.isEmpty()) {
      check.failures.forEach(f -> System.err.println("jpms-check: FAILED: " + f));
      System.exit(1);
    }
    System.out.println("jpms-check: " + API.size() + " library modules resolved as named modules on the"
        + " module path, exports as declared, each one used from a named module");
  }

  private void descriptors() {
    Module self = JpmsCheck.class.getModule();
    expect(self.isNamed(), "JpmsCheck runs in the unnamed module: it must run on the module path");
    for (Map.Entry<String, Set<String>> entry : API.entrySet()) {
      String name = entry.getKey();
      Module module = ModuleLayer.boot().findModule(name).orElse(null);
      if (module == null) {
        failures.add(name + " is not in the boot layer");
        continue;
      }
      ModuleDescriptor descriptor = module.getDescriptor();
      expect(!descriptor.isAutomatic(), name + " is an automatic module: its module-info.class is missing");
      expect(!descriptor.isOpen(), name + " is an open module");
      Set<String> exported = new TreeSet<>();
      for (ModuleDescriptor.Exports export : descriptor.exports()) {
        if (!export.isQualified()) {
          exported.add(export.source());
          continue;
        }
        expect(export.source().endsWith(".internal"),
            name + " exports " + export.source() + " to some modules: only .internal packages may be");
        expect(export.targets().stream().allMatch(t -> t.startsWith("dev.shepherd.")),
            name + " exports " + export.source() + " outside Shepherd: " + export.targets());
        expect(!export.targets().contains(self.getName()),
            name + " exports " + export.source() + " to this check, a stand-in for a user's module");
      }
      expect(exported.equals(new TreeSet<>(entry.getValue())),
          name + " exports " + exported + " to everybody; expected exactly " + new TreeSet<>(entry.getValue()));
      expect(descriptor.opens().isEmpty(), name + " opens " + descriptor.opens());
    }
    Module core = Ticker.class.getModule();
    Module backoff = Backoff.class.getModule();
    expect(!core.isExported(CORE_INTERNAL, self), CORE_INTERNAL + " is readable by a user's module");
    expect(core.isExported(CORE_INTERNAL, backoff), CORE_INTERNAL + " is not exported to " + backoff.getName());
  }

  private void usage() throws Exception {
    // testing + ratelimit: a bucket driven by a manual clock grants exactly its burst, then its rate.
    ManualClock clock = new ManualClock();
    TokenBucket bucket = TokenBucket.builder().name("jpms").rate(1, Duration.ofSeconds(1)).burst(1)
        .ticker(clock).build();
    expect(bucket.acquireOrRetryAfterNanos(1) == 0, "a full bucket refused its first permit");
    long wait = bucket.acquireOrRetryAfterNanos(1);
    expect(wait == Duration.ofSeconds(1).toNanos(), "an empty bucket said to come back in " + wait + " ns");
    clock.advance(Duration.ofSeconds(1));
    expect(bucket.acquireOrRetryAfterNanos(1) == 0, "the bucket did not refill after one period");

    // bulkhead, circuitbreaker
    expect("ok".equals(Bulkhead.of("jpms", 1).call(() -> "ok")), "a bulkhead changed a call's result");
    expect("ok".equals(CircuitBreaker.of("jpms").get(() -> "ok")), "a closed breaker changed a call's result");

    // micrometer, and Micrometer (an automatic module) read through its requires transitive.
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    RateLimiterMetrics.of(bucket).bindTo(registry);
    expect(!registry.getMeters().isEmpty(), "binding a token bucket registered no meter");

    // backoff
    Duration delay = Backoff.fullJitter(Duration.ofSeconds(1), Duration.ofMinutes(1))
        .start(new SplittableRandom(42)).nextDelay();
    expect(!delay.isNegative() && delay.compareTo(Duration.ofSeconds(1)) <= 0,
        "the first full-jitter delay " + delay + " is outside [0, 1 s]");

    // auth, and Caffeine as a named module: one backend call for two authentications.
    AtomicInteger backendCalls = new AtomicInteger();
    CachingAuthenticator<String> auth = CachingAuthenticator
        .<String>builder(credentials -> {
          backendCalls.incrementAndGet();
          return Verified.of(credentials.deviceId());
        })
        .ticker(clock).executor(Runnable::run).build();
    byte[] secret = "secret".getBytes(StandardCharsets.UTF_8);
    String first = auth.authenticate(DeviceCredentials.of("hub-1", secret));
    String second = auth.authenticate(DeviceCredentials.of("hub-1", secret));
    expect("hub-1".equals(first) && "hub-1".equals(second), "authenticated as " + first + ", " + second);
    expect(backendCalls.get() == 1, "the backend was called " + backendCalls.get() + " times, not once");

    // storm
    expect(Strategies.fullJitter() != null, "storm has no full-jitter strategy");

    // ratelimit-redis, and Lettuce (an automatic module) read through its requires transitive.
    RedisURI uri = RedisURI.create("redis://127.0.0.1:6379");
    expect(uri.getPort() == 6379, "Lettuce parsed the port as " + uri.getPort());
    expect(RedisRateLimiter.builder() != null, "no RedisRateLimiter builder");
    expect(RedisURI.class.getModule().getDescriptor().isAutomatic(),
        "Lettuce is now a named module: revisit the requires in ratelimit-redis's module-info");
  }

  private void expect(boolean condition, String failure) {
    if (!condition) {
      failures.add(failure);
    }
  }
}
