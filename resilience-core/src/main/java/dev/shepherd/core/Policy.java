package dev.shepherd.core;

import dev.shepherd.core.internal.Calls;
import dev.shepherd.core.internal.Checks;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * A guard around a call: a retry, a rate limiter, a bulkhead, or several of them composed.
 *
 * <p>A policy runs an action synchronously or asynchronously:
 * <ul>
 *   <li>{@link #get(Supplier)} and {@link #run(Runnable)}: the everyday forms, for actions that throw
 *       no checked exception; they throw none either (see {@link UncheckedCallException}).
 *   <li>{@link #call(Callable)}: for actions that throw checked exceptions, which it passes through.
 *   <li>{@link #callAsync(Supplier)}: for an action that returns a {@link CompletionStage}; it never
 *       blocks the calling thread.
 * </ul>
 * All forms apply the same policy: one permit, the same retries, the same events. When it refuses
 * to run the action, a policy throws (or completes the stage with) a {@link RejectedException} that
 * names the policy and, where known, says when to come back.
 *
 * <pre>{@code
 * String body = policy.get(() -> client.fetch(url));   // no try/catch for checked exceptions
 * policy.run(() -> cache.refresh());
 * }</pre>
 *
 * <p>Policies compose with {@link #compose(Policy...)}, outermost first, as Failsafe's
 * {@code with(outer, ..., inner)}: in {@code compose(retry, limiter)} the retry sees every rejection
 * of the limiter and may try again, while in {@code compose(limiter, retry)} one permit covers all
 * the attempts.
 *
 * <p>Implementations are thread-safe: one policy instance guards many concurrent calls.
 */
public interface Policy {

  /**
   * Returns this instance's name, used in rejections, events and logs.
   *
   * @return the name given at build time
   */
  String name();

  /**
   * Runs {@code action} under this policy and returns its result.
   *
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws RejectedException if the policy refused to run the action (or to run it again)
   * @throws Exception whatever {@code action} threw, when the policy lets it through
   */
  <T> T call(Callable<? extends T> action) throws Exception;

  /**
   * Runs {@code action} under this policy and returns its result, throwing no checked exception:
   * the unchecked form of {@link #call(Callable)}, with the same policy applied.
   *
   * <p>What {@code action} throws, and the policy's own {@link RejectedException}, propagate as
   * they are. A checked exception that {@code call} would have thrown (the policy's own, such as an
   * {@link InterruptedException} from an interrupted wait for a permit or between retries) is
   * thrown as an {@link UncheckedCallException} around it; for an interrupt, the thread's interrupt
   * status is set again first.
   *
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws RejectedException if the policy refused to run the action (or to run it again)
   * @throws UncheckedCallException if the call ended with a checked exception
   * @throws NullPointerException if {@code action} is null
   */
  default <T> T get(Supplier<? extends T> action) {
    Objects.requireNonNull(action, "action");
    try {
      return call(action::get);
    } catch (Exception e) {
      throw Calls.unchecked(name(), e);
    }
  }

  /**
   * Runs {@code action} under this policy, throwing no checked exception: {@link #get(Supplier)}
   * for an action without a result, with the same rules for exceptions.
   *
   * @param action the guarded work
   * @throws RejectedException if the policy refused to run the action (or to run it again)
   * @throws UncheckedCallException if the call ended with a checked exception
   * @throws NullPointerException if {@code action} is null
   */
  default void run(Runnable action) {
    Objects.requireNonNull(action, "action");
    try {
      call(() -> {
        action.run();
        return null;
      });
    } catch (Exception e) {
      throw Calls.unchecked(name(), e);
    }
  }

  /**
   * Runs an asynchronous action under this policy, without blocking the calling thread.
   *
   * <p>{@code action} is invoked to start the work; the returned stage completes with its result,
   * or exceptionally with a {@link RejectedException} if the policy refused the call.
   *
   * @param action starts the guarded work and returns the stage it will complete
   * @param <T> the result type
   * @return a stage completing with the result of the guarded work
   */
  <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action);

  /**
   * Composes policies so that the first given is the outermost, the last the innermost.
   *
   * <p>{@code compose(a, b, c).call(x)} is {@code a.call(() -> b.call(() -> c.call(x)))}, and the
   * same nesting holds for {@link #callAsync(Supplier)}. The composite's name joins the names with
   * {@code " > "}.
   *
   * @param outermostFirst the policies, outermost first; at least one
   * @return a policy applying all of them in that order
   * @throws IllegalArgumentException if no policy is given
   * @throws NullPointerException if the array or any element is null
   */
  static Policy compose(Policy... outermostFirst) {
    return compose(List.of(outermostFirst));
  }

  /**
   * Composes policies so that the first in the list is the outermost.
   *
   * @param outermostFirst the policies, outermost first; at least one
   * @return a policy applying all of them in that order
   * @throws IllegalArgumentException if the list is empty
   * @throws NullPointerException if the list or any element is null
   * @see #compose(Policy...)
   */
  static Policy compose(List<? extends Policy> outermostFirst) {
    Objects.requireNonNull(outermostFirst, "outermostFirst");
    Checks.check(!outermostFirst.isEmpty(), "outermostFirst", "non-empty", outermostFirst);
    if (outermostFirst.size() == 1) {
      return Objects.requireNonNull(outermostFirst.get(0), "outermostFirst[0]");
    }
    return new ComposedPolicy(outermostFirst);
  }
}
