package dev.shepherd.auth;

import static dev.shepherd.auth.FakeBackend.bytes;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.shepherd.testing.ManualClock;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedList;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * "Secrets never stored", checked on the heap: after fills, hits, refusals, a rotation, a refresh,
 * stale answers and failures, no object reachable from the authenticator (its cache, its flights,
 * Caffeine's nodes, its listener) holds a presented secret, as bytes, as a string or Base64; only
 * the keyed digests are there. The walk follows every field of non-JDK objects and the elements of
 * JDK arrays, collections and maps; it skips the test's own backend, which knows the secrets.
 */
class SecretRetentionTest {

  private static final String[] SECRETS = {
    "S3CR3T-right-7f9c2e", "S3CR3T-wrong-a41b0d", "S3CR3T-rotated-5e8d11", "S3CR3T-other-c0ffee"
  };

  @Test
  void noPresentedSecretIsReachableFromTheAuthenticator() throws Exception {
    ManualClock clock = new ManualClock();
    FakeBackend backend = new FakeBackend().enroll("hub-1", SECRETS[0]).enroll("hub-2", SECRETS[3]);
    RecordingListener events = new RecordingListener();
    CachingAuthenticator<String> auth = CachingAuthenticator.builder(backend).ticker(clock)
        .executor(Runnable::run).random(new SplittableRandom(3)).listener(events)
        .ttl(Duration.ofSeconds(60)).maxStale(Duration.ofSeconds(120)).build();

    auth.authenticate(creds("hub-1", SECRETS[0]));                       // fill
    auth.authenticate(creds("hub-1", SECRETS[0]));                       // hit
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-1", SECRETS[1])));
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-9", SECRETS[1])));
    backend.enroll("hub-2", SECRETS[2]);
    clock.advance(Duration.ofSeconds(50));                                // refresh window
    auth.authenticate(creds("hub-1", SECRETS[0]));                       // refresh ahead
    auth.authenticate(creds("hub-2", SECRETS[2]));                       // fill with the rotated secret
    backend.mode = FakeBackend.Mode.DOWN;
    clock.advance(Duration.ofSeconds(70));
    auth.authenticate(creds("hub-1", SECRETS[0]));                       // stale
    assertThrows(BackendUnavailableException.class, () -> auth.authenticate(creds("hub-3", SECRETS[3])));
    assertTrue(auth.stats().staleServed() > 0 && auth.stats().backendCalls() >= 5, auth.stats().toString());

    int digests = walk(auth, events);
    assertTrue(digests >= 2, "the walk reached the cached digests: " + digests);
  }

  private static DeviceCredentials creds(String id, String secret) {
    return DeviceCredentials.of(id, bytes(secret));
  }

  /** Walks the object graph; fails on any secret; returns how many 32-byte arrays it saw. */
  private static int walk(Object... roots) throws IllegalAccessException {
    Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    LinkedList<Object> queue = new LinkedList<>(); // admits nulls
    for (Object root : roots) {
      queue.add(root);
    }
    int digests = 0;
    while (!queue.isEmpty()) {
      Object o = queue.poll();
      if (o == null || !seen.add(o) || o instanceof FakeBackend || o instanceof Class) {
        continue;
      }
      if (o instanceof byte[]) {
        byte[] b = (byte[]) o;
        digests += b.length == 32 ? 1 : 0;
        check(new String(b, StandardCharsets.ISO_8859_1), o);
      } else if (o instanceof char[]) {
        check(new String((char[]) o), o);
      } else if (o instanceof String) {
        check((String) o, o);
      } else if (o.getClass().isArray()) {
        if (!o.getClass().getComponentType().isPrimitive()) {
          for (int i = 0; i < Array.getLength(o); i++) {
            queue.add(Array.get(o, i));
          }
        }
      } else if (isJdk(o.getClass())) {
        if (o instanceof Map) {
          for (Map.Entry<?, ?> e : ((Map<?, ?>) o).entrySet()) {
            queue.add(e.getKey());
            queue.add(e.getValue());
          }
        } else if (o instanceof Collection) {
          queue.addAll((Collection<?>) o);
        }
      } else {
        for (Class<?> c = o.getClass(); c != null && !isJdk(c); c = c.getSuperclass()) {
          for (Field f : c.getDeclaredFields()) {
            if (!Modifier.isStatic(f.getModifiers()) && !f.getType().isPrimitive()) {
              f.setAccessible(true);
              queue.add(f.get(o));
            }
          }
        }
      }
    }
    assertTrue(seen.size() > 50, "the walk covered the graph: " + seen.size() + " objects");
    return digests;
  }

  private static boolean isJdk(Class<?> c) {
    String n = c.getName();
    return n.startsWith("java.") || n.startsWith("javax.") || n.startsWith("jdk.") || n.startsWith("sun.");
  }

  private static void check(String text, Object where) {
    for (String secret : SECRETS) {
      String base64 = java.util.Base64.getEncoder().encodeToString(bytes(secret));
      if (text.contains(secret) || text.contains(base64)) {
        fail("a secret is reachable from the authenticator, in a " + where.getClass().getName());
      }
    }
  }
}
