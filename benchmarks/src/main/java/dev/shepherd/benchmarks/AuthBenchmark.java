package dev.shepherd.benchmarks;

import com.github.benmanes.caffeine.cache.Cache;
import dev.shepherd.auth.Authenticator;
import dev.shepherd.auth.CachingAuthenticator;
import dev.shepherd.auth.DeviceCredentials;
import dev.shepherd.auth.Verified;
import dev.shepherd.core.EventListener;
import com.github.benmanes.caffeine.cache.Caffeine;
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
