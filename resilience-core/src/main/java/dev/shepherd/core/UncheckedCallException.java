package dev.shepherd.core;

import java.util.Objects;

/**
 * Carries a checked exception out of {@link Policy#get(java.util.function.Supplier)} and
 * {@link Policy#run(Runnable)}, which cannot declare one.
 *
 * <p>A supplier or a runnable throws no checked exception, but the policy around it may: a
 * bulkhead or a retry whose wait is interrupted throws {@link InterruptedException} from
 * {@link Policy#call(java.util.concurrent.Callable)}. The unchecked forms wrap such an exception
 * (or one the action smuggled out with a "sneaky throw") in this one, its {@link #getCause() cause};
 * for an {@link InterruptedException} they first set the thread's interrupt status again, so code
 * further up still sees the interrupt. Unchecked exceptions and errors, {@link RejectedException}
 * included, pass through unwrapped. Use {@code call} to handle checked exceptions directly.
 */
public final class UncheckedCallException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /**
   * Wraps {@code cause}, the checked exception a policy's call ended with.
   *
   * @param policy the name of the policy whose call threw
   * @param cause the checked exception
   * @throws NullPointerException if {@code policy} or {@code cause} is null
   * @throws IllegalArgumentException if {@code cause} is a {@link RuntimeException}, which needs no
   *     wrapping
   */
  public UncheckedCallException(String policy, Exception cause) {
    super("policy '" + Objects.requireNonNull(policy, "policy") + "' ended with a checked exception: "
        + Objects.requireNonNull(cause, "cause"), cause);
    if (cause instanceof RuntimeException) {
      throw new IllegalArgumentException("cause must be a checked exception: " + cause, cause);
    }
  }

  /**
   * Returns the checked exception this one carries.
   *
   * @return the wrapped exception, never null
   */
  @Override
  public Exception getCause() {
    return (Exception) super.getCause();
  }
}
