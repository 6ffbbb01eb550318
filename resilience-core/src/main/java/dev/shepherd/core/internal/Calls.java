package dev.shepherd.core.internal;

import dev.shepherd.core.UncheckedCallException;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * The three shapes of a guarded action ({@link Callable}, {@link Supplier}, {@link Runnable}), run
 * by one code path without an adapter object, and the one rule for the exceptions of the unchecked
 * forms. Shepherd's plumbing, not API.
 *
 * <p>A policy whose grant path must not allocate writes its body once against
 * {@link #invoke(Object, int)}; wrapping a {@code Supplier} in a {@code Callable} lambda instead
 * would allocate an object on every call unless the JIT happens to inline it away.
 */
public final class Calls {

  /** The action is a {@link Callable}. */
  public static final int CALLABLE = 0;
  /** The action is a {@link Supplier}. */
  public static final int SUPPLIER = 1;
  /** The action is a {@link Runnable}; its result is {@code null}. */
  public static final int RUNNABLE = 2;

  private Calls() {}

  /**
   * Runs {@code action}, which has the shape {@code form} names.
   *
   * @param action a {@link Callable}, {@link Supplier} or {@link Runnable}
   * @param form {@link #CALLABLE}, {@link #SUPPLIER} or {@link #RUNNABLE}
   * @param <T> the result type
   * @return the action's result; {@code null} for a runnable
   * @throws Exception whatever the action threw
   */
  @SuppressWarnings("unchecked")
  public static <T> T invoke(Object action, int form) throws Exception {
    switch (form) {
      case CALLABLE:
        return ((Callable<T>) action).call();
      case SUPPLIER:
        return ((Supplier<T>) action).get();
      case RUNNABLE:
        ((Runnable) action).run();
        return null;
      default:
        throw Checks.invalid("form", "CALLABLE, SUPPLIER or RUNNABLE", form);
    }
  }

  /**
   * Returns what an unchecked call form throws for {@code failure}: the exception itself if it is
   * unchecked, otherwise an {@link UncheckedCallException} around it, after restoring the thread's
   * interrupt status if it is an {@link InterruptedException}.
   *
   * @param policy the name of the policy whose call failed
   * @param failure what the call threw
   * @return the exception to throw
   */
  public static RuntimeException unchecked(String policy, Exception failure) {
    if (failure instanceof RuntimeException) {
      return (RuntimeException) failure;
    }
    if (failure instanceof InterruptedException) {
      Thread.currentThread().interrupt();
    }
    return new UncheckedCallException(policy, failure);
  }
}
