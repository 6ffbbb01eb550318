package dev.shepherd.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.internal.Calls;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The unchecked forms {@code get} and {@code run} that every policy inherits from {@link Policy}. */
class PolicyCallFormsTest {

  /** Traces entering and leaving, and can end its call with a given exception instead of the action. */
  private static final class Gate implements Policy {
    private final String name;
    private final List<String> trace;
    private final Exception failure;

    Gate(String name, List<String> trace, Exception failure) {
      this.name = name;
      this.trace = trace;
      this.failure = failure;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public <T> T call(Callable<? extends T> action) throws Exception {
      trace.add("enter " + name);
      try {
        if (failure != null) {
          throw failure;
        }
        return action.call();
      } finally {
        trace.add("leave " + name);
      }
    }

    @Override
    public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
      throw new UnsupportedOperationException();
    }
  }

  private final List<String> trace = new ArrayList<>();

  @AfterEach
  void clearInterrupt() {
    Thread.interrupted();
  }

  @SuppressWarnings("unchecked")
  private static <E extends Exception> void sneakyThrow(Exception e) throws E {
    throw (E) e;
  }

  @Test
  void getAndRunRunTheActionUnderThePolicy() {
    Policy gate = new Gate("gate", trace, null);
    assertEquals("answer", gate.get(() -> {
      trace.add("action");
      return "answer";
    }));
    gate.run(() -> trace.add("ran"));
    assertEquals(List.of("enter gate", "action", "leave gate", "enter gate", "ran", "leave gate"), trace);
  }

  @Test
  void composedPoliciesNestTheUncheckedFormsAsTheyNestCall() {
    Policy composed = Policy.compose(new Gate("outer", trace, null), new Gate("inner", trace, null));
    assertEquals(7, composed.get(() -> 7));
    composed.run(() -> trace.add("ran"));
    assertEquals(List.of("enter outer", "enter inner", "leave inner", "leave outer",
        "enter outer", "enter inner", "ran", "leave inner", "leave outer"), trace);
  }

  @Test
  void uncheckedExceptionsAndRejectionsPassThroughAsTheyAre() {
    IllegalStateException boom = new IllegalStateException("boom");
    Policy gate = new Gate("gate", trace, null);
    assertSame(boom, assertThrows(IllegalStateException.class, () -> gate.get(() -> {
      throw boom;
    })));
    assertSame(boom, assertThrows(IllegalStateException.class, () -> gate.run(() -> {
      throw boom;
    })));
    RejectedException no = new RejectedException("gate", "full", null);
    Policy refusing = new Gate("gate", trace, no);
    assertSame(no, assertThrows(RejectedException.class, () -> refusing.get(() -> 1)));
    assertSame(no, assertThrows(RejectedException.class, () -> refusing.run(() -> { })));
    AssertionError error = new AssertionError("error");
    assertSame(error, assertThrows(AssertionError.class, () -> gate.run(() -> {
      throw error;
    })));
  }

  @Test
  void anInterruptedCallIsWrappedAndTheInterruptStatusIsSetAgain() {
    InterruptedException interrupted = new InterruptedException("waiting for a permit");
    Policy waiting = new Gate("bulkhead", trace, interrupted);
    UncheckedCallException thrown = assertThrows(UncheckedCallException.class, () -> waiting.get(() -> 1));
    assertSame(interrupted, thrown.getCause());
    assertTrue(Thread.interrupted(), "the interrupt is not lost");
    assertEquals("policy 'bulkhead' ended with a checked exception: "
        + "java.lang.InterruptedException: waiting for a permit", thrown.getMessage());
    assertThrows(UncheckedCallException.class, () -> waiting.run(() -> { }));
    assertTrue(Thread.interrupted());
  }

  @Test
  void anyOtherCheckedExceptionIsWrappedWithoutInterrupting() {
    IOException io = new IOException("disk");
    Policy failing = new Gate("gate", trace, io);
    assertSame(io, assertThrows(UncheckedCallException.class, () -> failing.get(() -> 1)).getCause());
    assertFalse(Thread.currentThread().isInterrupted());
    Policy passing = new Gate("gate", trace, null);
    IOException smuggled = new IOException("sneaky");
    UncheckedCallException thrown = assertThrows(UncheckedCallException.class, () -> passing.run(() -> {
      PolicyCallFormsTest.<RuntimeException>sneakyThrow(smuggled);
    }));
    assertSame(smuggled, thrown.getCause());
  }

  @Test
  void nullActionsAreRefused() {
    Policy gate = new Gate("gate", trace, null);
    assertEquals("action", assertThrows(NullPointerException.class, () -> gate.get(null)).getMessage());
    assertEquals("action", assertThrows(NullPointerException.class, () -> gate.run(null)).getMessage());
    assertEquals(List.of(), trace, "refused before the policy is entered");
  }

  @Test
  void theWrapperOnlyCarriesCheckedExceptions() {
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> new UncheckedCallException("p", new IllegalStateException("x")));
    assertEquals("cause must be a checked exception: java.lang.IllegalStateException: x", bad.getMessage());
    assertThrows(NullPointerException.class, () -> new UncheckedCallException("p", null));
  }

  @Test
  void callsInvokesEachShapeWithoutAnAdapter() throws Exception {
    Callable<String> callable = () -> "callable";
    Supplier<String> supplier = () -> "supplier";
    List<String> ran = new ArrayList<>();
    Runnable runnable = () -> ran.add("runnable");
    assertEquals("callable", Calls.<String>invoke(callable, Calls.CALLABLE));
    assertEquals("supplier", Calls.<String>invoke(supplier, Calls.SUPPLIER));
    assertEquals(null, Calls.<Object>invoke(runnable, Calls.RUNNABLE));
    assertEquals(List.of("runnable"), ran);
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> Calls.invoke(runnable, 3));
    assertEquals("form must be CALLABLE, SUPPLIER or RUNNABLE: 3", bad.getMessage());
    RuntimeException same = new IllegalStateException();
    assertSame(same, Calls.unchecked("p", same));
    assertInstanceOf(UncheckedCallException.class, Calls.unchecked("p", new IOException()));
  }
}
