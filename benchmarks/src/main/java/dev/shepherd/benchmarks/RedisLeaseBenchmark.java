package dev.shepherd.benchmarks;

import dev.shepherd.core.EventListener;
import dev.shepherd.ratelimit.redis.FailurePolicy;
import dev.shepherd.ratelimit.redis.RedisRateLimiter;
import dev.shepherd.testing.RedisServer;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.distributed.AsyncBucketProxy;
import io.github.bucket4j.distributed.BucketProxy;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.lettuce.core.RedisClient;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One hot key, four limiter instances (four "servers", each on its own Lettuce connection of one
 * client) on a private {@code redis-server}: checks per second with and without lease mode. Run
 * it with {@code -t 4} so that each thread drives its own instance.
 *
 * <p>{@code variant=lease0} is today's path: one {@code EVALSHA} per check. {@code lease100}: a
 * script call takes up to 100 permits, and the next checks spend them locally with one CAS.
 * {@code bucket4j}: Bucket4j's Lettuce proxy (compare-and-swap based), four proxies on one bucket,
 * each on its own connection. The limit is 10^9 per second with a burst of 10^6, so every check is
 * granted and the score is the limiter's, not the rate's; the teardown fails the run if any check
 * was refused, a Shepherd limiter touched the fallback, or its grants exceed the proven bound
 * {@code burst + rate × d + servers × lease} over the trial.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class RedisLeaseBenchmark {

  static final int SERVERS = 4;
  static final int PIPELINE = 16;
  static final long PERMITS_PER_SECOND = 1_000_000_000L;
  static final int BURST = 1_000_000;

  /** Shepherd without leases, with leases of 100 permits, or Bucket4j's Lettuce proxy. */
  @Param({"lease0", "lease100", "bucket4j"})
  public String variant;

  private int lease;

  private RedisServer server;
  private RedisClient client;
  private final List<RedisRateLimiter> fleet = new ArrayList<>();
  private final List<Check> checks = new ArrayList<>();
  private final AtomicInteger nextServer = new AtomicInteger();
  private final LongAdder refused = new LongAdder();
  private long startNanos;

  @Setup(Level.Trial)
  public void setUp() {
    try {
      server = RedisServer.start();
      client = RedisClient.create(server.uri());
      if (variant.equals("bucket4j")) {
        setUpBucket4j();
        return;
      }
      lease = Integer.parseInt(variant.substring("lease".length()));
      for (int s = 0; s < SERVERS; s++) {
        RedisRateLimiter.Builder b = RedisRateLimiter.builder()
            .name("hot")
            .connection(client.connect())
            .key("bench:hot")
            .rate(PERMITS_PER_SECOND, Duration.ofSeconds(1))
            .burst(BURST)
            .timeout(Duration.ofSeconds(2))
            .failurePolicy(FailurePolicy.FAIL_CLOSED)
            .listener(EventListener.noop());
        if (lease > 0) {
          b.lease(lease);
        }
        RedisRateLimiter limiter = b.build();
        fleet.add(limiter);
        checks.add(new Check() {
          @Override
          public boolean sync() {
            return limiter.tryAcquire();
          }

          @Override
          public CompletableFuture<Boolean> async() {
            return limiter.tryAcquireAsync().toCompletableFuture();
          }
        });
      }
      startNanos = System.nanoTime();
      for (RedisRateLimiter l : fleet) {
        if (!l.tryAcquire()) {
          throw new IllegalStateException("a first check against a fresh Redis was refused");
        }
      }
    } catch (RuntimeException | Error e) {
      tearDownQuietly();
      throw e;
    }
  }

  /** Four Bucket4j proxies on one bucket, each on its own connection of the same client. */
  private void setUpBucket4j() {
    BucketConfiguration configuration = BucketConfiguration.builder()
        .addLimit(limit -> limit.capacity(BURST).refillGreedy(PERMITS_PER_SECOND, Duration.ofSeconds(1)))
        .build();
    for (int s = 0; s < SERVERS; s++) {
      ProxyManager<String> proxyManager = Bucket4jLettuce
          .casBasedBuilder(client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE)))
          .expirationAfterWrite(
              ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(Duration.ofSeconds(1)))
          .build();
      BucketProxy bucket = proxyManager.builder().build("bench:hot-bucket4j", () -> configuration);
      AsyncBucketProxy asyncBucket = proxyManager.asAsync().builder()
          .build("bench:hot-bucket4j", () -> CompletableFuture.completedFuture(configuration));
      if (!bucket.tryConsume(1) || !asyncBucket.tryConsume(1).join()) {
        throw new IllegalStateException("a first check against a fresh Redis was refused");
      }
      checks.add(new Check() {
        @Override
        public boolean sync() {
          return bucket.tryConsume(1);
        }

        @Override
        public CompletableFuture<Boolean> async() {
          return asyncBucket.tryConsume(1);
        }
      });
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    try {
      double seconds = (System.nanoTime() - startNanos) / 1e9;
      long granted = 0;
      long errors = 0;
      long fallbacks = 0;
      for (RedisRateLimiter l : fleet) {
        granted += l.grantedCount();
        errors += l.redisErrorCount();
        fallbacks += l.fallbackCount();
      }
      double bound = BURST + PERMITS_PER_SECOND * seconds + (double) SERVERS * lease;
      if (errors != 0 || fallbacks != 0 || refused.sum() != 0 || granted > bound) {
        throw new IllegalStateException(String.format(Locale.ROOT,
            "invalid run: %d Redis errors, %d fallback decisions, %d refused, %d granted (bound %.0f)",
            errors, fallbacks, refused.sum(), granted, bound));
      }
    } finally {
      tearDownQuietly();
    }
  }

  private void tearDownQuietly() {
    try {
      if (client != null) {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
    } catch (RuntimeException e) {
      // the server is stopped below either way
    } finally {
      client = null;
      fleet.clear();
      checks.clear();
      if (server != null) {
        server.close();
        server = null;
      }
    }
  }

  private boolean count(boolean granted) {
    if (!granted) {
      refused.increment();
    }
    return granted;
  }

  /** One blocking check on this thread's instance. */
  @Benchmark
  public boolean sync(Instance instance) {
    return count(instance.check.sync());
  }

  /** {@value #PIPELINE} asynchronous checks on this thread's instance, sent back to back, then awaited. */
  @Benchmark
  @OperationsPerInvocation(PIPELINE)
  public int async(Instance instance) {
    for (int i = 0; i < PIPELINE; i++) {
      instance.futures[i] = instance.check.async();
    }
    int granted = 0;
    for (int i = 0; i < PIPELINE; i++) {
      if (count(instance.futures[i].join())) {
        granted++;
      }
      instance.futures[i] = null;
    }
    return granted;
  }

  /** One server's check, on its own limiter (or Bucket4j proxy) and connection. */
  interface Check {
    boolean sync();

    CompletableFuture<Boolean> async();
  }

  /** The instance this thread drives: threads take the four in turn. */
  @State(Scope.Thread)
  public static class Instance {
    Check check;
    @SuppressWarnings("unchecked") // an array of a generic type; it only ever holds CompletableFuture<Boolean>
    final CompletableFuture<Boolean>[] futures = (CompletableFuture<Boolean>[]) new CompletableFuture<?>[PIPELINE];

    @Setup(Level.Trial)
    public void pick(RedisLeaseBenchmark benchmark) {
      check = benchmark.checks.get(benchmark.nextServer.getAndIncrement() % SERVERS);
    }
  }
}
