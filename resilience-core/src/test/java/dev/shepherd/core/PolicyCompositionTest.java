package dev.shepherd.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class PolicyCompositionTest {

  /** Records entering and leaving, so the nesting is visible. */
  private static final class Recording implements Policy {
    private final String name;
    private final List<String> trace;

    Recording(String name, List<String> trace) {
      this.name = name;
      this.trace = trace;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public <T> T call(Callable<? extends T> action) throws Exception {
      trace.add("enter " + name);
      try {
        return action.call();
      } finally {
        trace.add("leave " + name);
      }
    }

    @Override
    public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
      trace.add("enter " + name);
      return action.get().whenComplete((r, e) -> trace.add("leave " + name));
    }
  }

  /** Refuses every call. */
  private static final class Refusing implements Policy {
    @Override
    public String name() {
      return "gate";
    }

    @Override
    public <T> T call(Callable<? extends T> action) {
      throw new RejectedException("gate", "gate is closed", Duration.ofSeconds(2));
    }

    @Override
    public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
      return CompletableFuture.failedFuture(new RejectedException("gate", "gate is closed", Duration.ofSeconds(2)));
    }
  }

  @Test
  void theFirstPolicyIsOutermostWhenCalling() throws Exception {
    List<String> trace = new CopyOnWriteArrayList<>();
    Policy composed = Policy.compose(new Recording("a", trace), new Recording("b", trace), new Recording("c", trace));
    String result = composed.call(() -> {
      trace.add("action");
      return "ok";
    });
    assertEquals("ok", result);
    assertEquals(List.of("enter a", "enter b", "enter c", "action", "leave c", "leave b", "leave a"), trace);
  }

  @Test
  void theFirstPolicyIsOutermostWhenCallingAsync() {
    List<String> trace = new CopyOnWriteArrayList<>();
    Policy composed = Policy.compose(List.of(new Recording("a", trace), new Recording("b", trace)));
    String result = composed.<String>callAsync(() -> {
      trace.add("action");
      return CompletableFuture.completedFuture("ok");
    }).toCompletableFuture().join();
    assertEquals("ok", result);
    assertEquals(List.of("enter a", "enter b", "action", "leave b", "leave a"), trace);
  }

  @Test
  void anInnerRejectionReachesTheOuterPolicyAndSkipsTheAction() {
    List<String> trace = new CopyOnWriteArrayList<>();
    Policy composed = Policy.compose(new Recording("outer", trace), new Refusing());
    RejectedException e = assertThrows(RejectedException.class, () -> composed.call(() -> trace.add("action")));
    assertEquals("gate", e.policyName());
    assertEquals(List.of("enter outer", "leave outer"), trace);

    CompletionException async = assertThrows(CompletionException.class,
        () -> composed.callAsync(() -> CompletableFuture.completedFuture(1)).toCompletableFuture().join());
    assertTrue(async.getCause() instanceof RejectedException);
  }

  @Test
  void anOuterRejectionStopsBeforeTheInnerPolicies() {
    List<String> trace = new CopyOnWriteArrayList<>();
    Policy composed = Policy.compose(new Refusing(), new Recording("inner", trace));
    assertThrows(RejectedException.class, () -> composed.call(() -> trace.add("action")));
    assertEquals(List.of(), trace);
  }

  @Test
  void theNameListsThePoliciesOutermostFirst() {
    List<String> trace = new CopyOnWriteArrayList<>();
    assertEquals("a > gate > c",
        Policy.compose(new Recording("a", trace), new Refusing(), new Recording("c", trace)).name());
  }

  @Test
  void composingOnePolicyReturnsIt() {
    Policy only = new Refusing();
    assertSame(only, Policy.compose(only));
  }

  @Test
  void composingNothingOrNullFails() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Policy.compose());
    assertEquals("outermostFirst must be non-empty: []", e.getMessage());
    assertThrows(NullPointerException.class, () -> Policy.compose(new Refusing(), null));
  }
}
