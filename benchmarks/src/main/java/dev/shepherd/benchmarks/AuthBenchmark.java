package dev.shepherd.benchmarks;

import com.github.benmanes.caffeine.cache.Cache;
import dev.shepherd.auth.Authenticator;
import dev.shepherd.auth.CachingAuthenticator;
import dev.shepherd.auth.DeviceCredentials;
import dev.shepherd.auth.Verified;
import dev.shepherd.core.EventListener;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A cached authentication: the floor our security design allows is one cache lookup plus one HMAC
 * of the presented secret compared in constant time (secrets are never stored, only their keyed
 * digests).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AuthBenchmark {

  static final int DEVICES = 1024;

  /** The shared cache of digests, warm for every device. */
  @State(Scope.Benchmark)
  public static class Shared {
    Cache<String, byte[]> caffeine;
    CachingAuthenticator<String> shepherd;
    DeviceCredentials[] credentials;
    String[] ids;
    byte[][] secrets;
    byte[] key;

    @Setup
    public void setUp() throws GeneralSecurityException {
      key = new byte[32];
      new java.security.SecureRandom().nextBytes(key);
      caffeine = Caffeine.newBuilder().maximumSize(DEVICES * 2L).build();
      ids = new String[DEVICES];
      secrets = new byte[DEVICES][];
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      for (int i = 0; i < DEVICES; i++) {
        ids[i] = "hub-" + i;
        secrets[i] = ("secret-of-hub-" + i).getBytes(StandardCharsets.UTF_8);
        caffeine.put(ids[i], mac.doFinal(secrets[i]));
      }
      // The backend vouches for every device; it is called once per device, while warming.
      Authenticator<DeviceCredentials, Verified<String>> backend = c -> Verified.of(c.deviceId());
      shepherd = CachingAuthenticator.builder(backend).name("bench").maximumSize(DEVICES * 2L)
          .listener(EventListener.noop()).build();
      credentials = new DeviceCredentials[DEVICES];
      for (int i = 0; i < DEVICES; i++) {
        credentials[i] = DeviceCredentials.of(ids[i], secrets[i]);
        shepherd.authenticate(credentials[i]);
      }
    }
  }

  /** Each thread's own Mac (a Mac is not thread-safe) and position. */
  @State(Scope.Thread)
  public static class PerThread {
    Mac mac;
    int next;

    @Setup
    public void setUp(Shared shared) throws GeneralSecurityException {
      mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(shared.key, "HmacSHA256"));
    }

    int nextDevice() {
      next = (next + 1) & (DEVICES - 1);
      return next;
    }
  }

  /**
   * A fresh thread per operation: a virtual thread ({@code Thread.startVirtualThread}, JDK 21+), or
   * where the JDK has none, a fresh platform thread. A server that runs each request on its own
   * virtual thread pays for any per-thread state (a {@code ThreadLocal}) on every request; this
   * state measures that, next to {@link #freshThreadAlone} which costs the thread alone.
   */
  @State(Scope.Thread)
  public static class FreshThread {
    private static final MethodHandle START_VIRTUAL = startVirtual();
    /** True when the fresh threads are virtual threads (JDK 21+). */
    public static final boolean VIRTUAL = START_VIRTUAL != null;
    private Object result;

    private static MethodHandle startVirtual() {
      try {
        return MethodHandles.publicLookup().findStatic(Thread.class, "startVirtualThread",
            MethodType.methodType(Thread.class, Runnable.class));
      } catch (NoSuchMethodException | IllegalAccessException e) {
        return null;
      }
    }

    /** Runs {@code task} on a fresh thread, waits for it, and returns what it produced. */
    Object run(java.util.function.Supplier<?> task) throws Throwable {
      result = null;
      Runnable body = () -> result = task.get();
      Thread t;
      if (START_VIRTUAL != null) {
        t = (Thread) START_VIRTUAL.invokeExact(body);
      } else {
        t = new Thread(body);
        t.start();
      }
      t.join();
      return result;
    }
  }

  /**
   * A cache hit on a fresh (virtual) thread per request: the hit path plus whatever per-thread
   * state it builds; subtract {@link #freshThreadAlone} for the hit's own share.
   */
  @Benchmark
  public Object shepherdHitOnFreshThread(Shared shared, PerThread thread, FreshThread fresh) throws Throwable {
    DeviceCredentials credentials = shared.credentials[thread.nextDevice()];
    return fresh.run(() -> shared.shepherd.authenticate(credentials));
  }

  /** Starting and joining a fresh (virtual) thread that does nothing: the baseline of the above. */
  @Benchmark
  public Object freshThreadAlone(FreshThread fresh) throws Throwable {
    return fresh.run(() -> fresh);
  }

  /** A cache hit: normalised id lookup, one HMAC of the presented secret, constant-time compare. */
  @Benchmark
  public String shepherdCachingAuthenticatorHit(Shared shared, PerThread thread) {
    return shared.shepherd.authenticate(shared.credentials[thread.nextDevice()]);
  }

  @Benchmark
  public boolean caffeineGetIfPresentPlusHmac(Shared shared, PerThread thread) {
    int i = thread.nextDevice();
    byte[] stored = shared.caffeine.getIfPresent(shared.ids[i]);
    return stored != null && MessageDigest.isEqual(stored, thread.mac.doFinal(shared.secrets[i]));
  }
}
