package dev.shepherd.auth;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scriptable backend: knows each device's right secret, can be up, down, "slow" (calls stay
 * pending until the test delivers them, with the verdict of the delivery moment) or "late" (the
 * verdict is decided when the call arrives, and delivered when the test says), and counts calls.
 */
final class FakeBackend implements Authenticator<DeviceCredentials, Verified<String>> {

  enum Mode {
    UP,
    DOWN,
    PENDING,
    /** The verdict is decided on arrival and held until {@link #deliver}. */
    LATE
  }

  /** A call waiting for {@link #deliver}. */
  static final class Call {
    final String deviceId;
    final byte[] secret;
    final CompletableFuture<Verified<String>> future = new CompletableFuture<>();
    /** For {@link Mode#LATE}: the verdict decided on arrival (null: invalid). */
    Verified<String> decided;
    boolean decidedAtArrival;

    Call(String deviceId, byte[] secret) {
      this.deviceId = deviceId;
      this.secret = secret;
    }
  }

  final Map<String, byte[]> secrets = new ConcurrentHashMap<>();
  final Set<String> revoked = ConcurrentHashMap.newKeySet();
  final AtomicInteger calls = new AtomicInteger();
  final Map<String, AtomicInteger> callsPerDevice = new ConcurrentHashMap<>();
  private final List<Call> pending = new ArrayList<>();
  volatile Mode mode = Mode.UP;
  volatile Duration validFor;
  volatile Duration retryAfter;
  /** Called with each (device, verdict-is-valid) when a verdict is produced. */
  volatile java.util.function.BiConsumer<String, Boolean> onVerdict = (d, v) -> { };

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  FakeBackend enroll(String deviceId, String secret) {
    secrets.put(DeviceCredentials.normalizeDeviceId(deviceId), bytes(secret));
    return this;
  }

  int callsFor(String deviceId) {
    AtomicInteger n = callsPerDevice.get(deviceId);
    return n == null ? 0 : n.get();
  }

  Verified<String> verdict(String deviceId, byte[] secret) {
    byte[] right = secrets.get(deviceId);
    boolean valid = right != null && !revoked.contains(deviceId) && Arrays.equals(right, secret);
    onVerdict.accept(deviceId, valid);
    if (!valid) {
      throw new AuthenticationException("fake backend refused device '" + deviceId + "'");
    }
    Duration v = validFor;
    return v == null ? Verified.of("principal-" + deviceId) : Verified.of("principal-" + deviceId, v);
  }

  BackendUnavailableException down(String deviceId) {
    return new BackendUnavailableException("fake", "fake backend down for '" + deviceId + "'", retryAfter, null);
  }

  @Override
  public Verified<String> authenticate(DeviceCredentials credentials) {
    return authenticateAsync(credentials).toCompletableFuture().join();
  }

  @Override
  public CompletionStage<Verified<String>> authenticateAsync(DeviceCredentials credentials) {
    String id = credentials.deviceId();
    calls.incrementAndGet();
    callsPerDevice.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
    switch (mode) {
      case UP:
        try {
          return CompletableFuture.completedFuture(verdict(id, credentials.secretRef()));
        } catch (RuntimeException e) {
          return CompletableFuture.failedFuture(e);
        }
      case DOWN:
        return CompletableFuture.failedFuture(down(id));
      default:
        Call call = new Call(id, credentials.secret());
        if (mode == Mode.LATE) {
          call.decidedAtArrival = true;
          try {
            call.decided = verdict(id, call.secret);
          } catch (AuthenticationException invalid) {
            call.decided = null;
          }
        }
        synchronized (pending) {
          pending.add(call);
        }
        return call.future;
    }
  }

  List<Call> pending() {
    synchronized (pending) {
      return List.copyOf(pending);
    }
  }

  /** Completes a pending call: with the verdict of the moment, or as a failure. */
  void deliver(Call call, boolean asFailure) {
    synchronized (pending) {
      if (!pending.remove(call)) {
        return;
      }
    }
    if (asFailure) {
      call.future.completeExceptionally(down(call.deviceId));
      return;
    }
    if (call.decidedAtArrival) {
      if (call.decided != null) {
        call.future.complete(call.decided);
      } else {
        call.future.completeExceptionally(
            new AuthenticationException("fake backend refused device '" + call.deviceId + "'"));
      }
      return;
    }
    try {
      call.future.complete(verdict(call.deviceId, call.secret));
    } catch (RuntimeException e) {
      call.future.completeExceptionally(e);
    }
  }

  void deliverAll(boolean asFailure) {
    for (Call call : pending()) {
      deliver(call, asFailure);
    }
  }

  @Override
  public String toString() {
    return "FakeBackend";
  }
}
