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
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Fleet-wide rate limit checks per second against a local Redis: Shepherd's
 * {@link RedisRateLimiter} (GCRA, one {@code EVALSHA} per check) beside Bucket4j's Lettuce proxy
 * manager (compare-and-swap: a {@code GET} and a CAS script per check), on the same private
 * {@code redis-server}, with the same limit (10^6 per second, burst 10^6: every check is granted).
 *
 * <p>Mode: throughput, in checks per second (higher is better), because a check is a network round
 * trip of tens of microseconds. Each library gets its own Lettuce connection of the same client,
 * shared by the benchmark threads, as a server shares one connection among its request threads.
 * {@code *Sync} methods block for each answer; {@code *Async} methods keep {@value #PIPELINE}
 * checks in flight per thread (sent back to back, then awaited), which Lettuce pipelines on the
 * one connection.
 *
 * <p>Shepherd is given a 2 s timeout and the fail-closed policy so that a scheduling hiccup of a
 * shared machine can never send it to its in-process fallback (which would be far faster than
 * Redis); the trial's teardown fails the run if any check, of either library, was refused or not
 * decided by Redis.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class RedisRateLimiterBenchmark {

  /** Checks each thread keeps in flight in the asynchronous benchmarks. */
  static final int PIPELINE = 16;
  static final long PERMITS_PER_SECOND = 1_000_000L;
  static final int BURST = 1_000_000;

  private RedisServer server;
  private RedisClient client;
  private StatefulRedisConnection<String, String> shepherdConnection;
  private StatefulRedisConnection<String, byte[]> bucket4jConnection;
  private RedisRateLimiter shepherd;
  private BucketProxy bucket4j;
  private AsyncBucketProxy bucket4jAsync;
  private final LongAdder refused = new LongAdder();

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    try {
      server = RedisServer.start();
      client = RedisClient.create(server.uri());
      shepherdConnection = client.connect();
      bucket4jConnection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
      shepherd = RedisRateLimiter.builder()
          .name("bench")
          .connection(shepherdConnection)
          .key("bench:shepherd")
          .rate(PERMITS_PER_SECOND, Duration.ofSeconds(1))
          .burst(BURST)
          .timeout(Duration.ofSeconds(2))
          .failurePolicy(FailurePolicy.FAIL_CLOSED)
          .listener(EventListener.noop())
          .build();
      BucketConfiguration configuration = BucketConfiguration.builder()
          .addLimit(limit -> limit.capacity(BURST).refillGreedy(PERMITS_PER_SECOND, Duration.ofSeconds(1)))
          .build();
      // Like Shepherd's script, let idle buckets expire once they would be full again.
      ProxyManager<String> proxyManager = Bucket4jLettuce.casBasedBuilder(bucket4jConnection)
          .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(Duration.ofSeconds(1)))
          .build();
      bucket4j = proxyManager.builder().build("bench:bucket4j", () -> configuration);
      bucket4jAsync = proxyManager.asAsync().builder().build("bench:bucket4j-async", () -> CompletableFuture.completedFuture(configuration));
      // One check each, so that both scripts are loaded and both keys exist before measuring.
      if (!shepherd.tryAcquire() || !bucket4j.tryConsume(1) || !bucket4jAsync.tryConsume(1).join()) {
        throw new IllegalStateException("a first check against a fresh Redis was refused");
      }
    } catch (Exception | Error e) {
      tearDownQuietly();
      throw e;
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    try {
      long redisErrors = shepherd.redisErrorCount();
      long fallbacks = shepherd.fallbackCount();
      long refusals = refused.sum();
      if (redisErrors != 0 || fallbacks != 0 || refusals != 0) {
        throw new IllegalStateException(String.format(java.util.Locale.ROOT,
            "invalid run: %d Redis errors and %d fallback decisions (Shepherd), %d refused checks (both): "
                + "the score did not measure granted checks decided by Redis", redisErrors, fallbacks, refusals));
      }
    } finally {
      tearDownQuietly();
    }
  }

  private void tearDownQuietly() {
    try {
      if (client != null) {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2)); // closes both connections
      }
    } catch (RuntimeException e) {
      // the server is stopped below either way
    } finally {
      client = null;
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

  /** One check, waiting for Redis's answer: one EVALSHA. */
  @Benchmark
  public boolean shepherdSync() {
    return count(shepherd.tryAcquire());
  }

  /** One check, waiting for Redis's answer: a GET and a compare-and-swap script. */
  @Benchmark
  public boolean bucket4jSync() {
    return count(bucket4j.tryConsume(1));
  }

  /** {@value #PIPELINE} asynchronous checks sent back to back, then awaited. */
  @Benchmark
  @OperationsPerInvocation(PIPELINE)
  public int shepherdAsync(InFlight inFlight) {
    for (int i = 0; i < PIPELINE; i++) {
      inFlight.futures[i] = shepherd.tryAcquireAsync().toCompletableFuture();
    }
    return inFlight.awaitGranted(this);
  }

  /** {@value #PIPELINE} asynchronous checks sent back to back, then awaited. */
  @Benchmark
  @OperationsPerInvocation(PIPELINE)
  public int bucket4jAsync(InFlight inFlight) {
    for (int i = 0; i < PIPELINE; i++) {
      inFlight.futures[i] = bucket4jAsync.tryConsume(1);
    }
    return inFlight.awaitGranted(this);
  }

  /** One thread's checks in flight. */
  @State(Scope.Thread)
  public static class InFlight {
    @SuppressWarnings("unchecked") // an array of a generic type; it only ever holds CompletableFuture<Boolean>
    final CompletableFuture<Boolean>[] futures = (CompletableFuture<Boolean>[]) new CompletableFuture<?>[PIPELINE];

    int awaitGranted(RedisRateLimiterBenchmark benchmark) {
      int granted = 0;
      for (int i = 0; i < PIPELINE; i++) {
        if (benchmark.count(futures[i].join())) {
          granted++;
        }
        futures[i] = null;
      }
      return granted;
    }
  }
}
