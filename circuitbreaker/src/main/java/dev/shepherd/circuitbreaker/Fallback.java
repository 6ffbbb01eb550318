package dev.shepherd.circuitbreaker;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.core.RejectedException;
import dev.shepherd.core.internal.Checks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Answers from a second source when the guarded call fails or is refused: the working local path
 * when the cloud is down.
 *
 * <pre>{@code
 * Fallback<DeviceState> viaHub = Fallback.<DeviceState>builder((result, failure) -> hub.state(deviceId))
 *     .name("hub-local").handle(IOException.class).handle(RejectedException.class).build();
 * DeviceState state = viaHub.answer(() -> breaker.call(() -> cloud.state(deviceId)));
 * }</pre>
 *
 * <p><b>What it handles.</b> A failure is handled if it matches any of the {@link
 * Builder#handle(Class) handle} types or {@link Builder#handleIf(Predicate) handleIf} predicates,
 * or, when none is configured, if it is any {@link Exception}. {@link Error}s and {@link
 * InterruptedException} are never handled: they propagate as they are (an interrupt is the
 * caller's to act on). A result is handled if it matches {@link Builder#handleResult(Predicate)
 * handleResult}. A {@link RejectedException} (an open breaker, a full bulkhead, a timeout, a
 * throttle) is a failure like any other: {@code handle(RejectedException.class)} answers every
 * refusal of the policies inside. An asynchronous failure is judged by the cause of its {@link
 * CompletionException}.
 *
 * <p><b>The fallback</b> is a {@link FallbackFunction}, given the handled result (or null) and the
 * handled failure (or null). What it throws is what the call throws, with the original failure
 * added as suppressed. In {@link #answerAsync(Supplier)} and {@link #callAsync(Supplier)} it runs on
 * the thread that completed the action's stage, so it should not block there.
 *
 * <p><b>Types.</b> A {@code Fallback<R>} answers for calls returning {@code R}. {@link
 * #answer(Callable)} and {@link #answerAsync(Supplier)} check that at compile time. As a {@link Policy}
 * (in {@link Policy#compose(Policy...)}) it cannot: its {@code call} returns the fallback's value
 * as whatever type the call expects, so compose a {@code Fallback<R>} only around actions that
 * return {@code R} (as Failsafe's executors do, whose fallbacks are typed the same way).
 *
 * <p><b>Events.</b> Each fallback answer is counted ({@link #fallbacks()}) and reported as {@link
 * Event.Kind#FALLBACK}, with the handled failure as its cause.
 *
 * <p>Immutable and thread-safe if the fallback function is.
 *
 * @param <R> the result type of the calls it answers for
 */
public final class Fallback<R> implements Policy {

  /**
   * Computes the answer that replaces a handled outcome.
   *
   * @param <R> the result type
   */
  @FunctionalInterface
  public interface FallbackFunction<R> {
    /**
     * Computes the fallback answer.
     *
     * @param result the handled result, or {@code null} when the call failed
     * @param failure the handled failure, or {@code null} when a result was handled
     * @return the answer to give instead
     * @throws Exception when the fallback fails too
     */
    R apply(R result, Throwable failure) throws Exception;
  }

  private final String name;
  private final FallbackFunction<R> fallback;
  private final Predicate<Throwable> handles;
  private final Predicate<? super R> handlesResult;
  private final EventListener listener;
  private final LongAdder fallbacks = new LongAdder();

  private Fallback(Builder<R> b) {
    this.name = b.name;
    this.fallback = b.fallback;
    List<Predicate<? super Throwable>> conditions = List.copyOf(b.conditions);
    this.handles = conditions.isEmpty() ? t -> t instanceof Exception
        : t -> conditions.stream().anyMatch(c -> c.test(t));
    this.handlesResult = b.handlesResult;
    this.listener = EventListener.guarded(b.listener == null ? EventListener.logging() : b.listener);
  }

  /**
   * Returns a builder for a fallback that answers with {@code fallback}; by default it handles every
   * exception and no result.
   *
   * @param fallback computes the answer from the handled result or failure
   * @param <R> the result type
   * @return a new builder
   * @throws NullPointerException if {@code fallback} is null
   */
  public static <R> Builder<R> builder(FallbackFunction<R> fallback) {
    return new Builder<>(Objects.requireNonNull(fallback, "fallback"));
  }

  /**
   * Returns a fallback named {@code name} that answers every exception with what {@code
   * alternative} returns.
   *
   * @param name the instance's name
   * @param alternative the second source
   * @param <R> the result type
   * @return a new fallback
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code name} is blank
   */
  public static <R> Fallback<R> of(String name, Callable<? extends R> alternative) {
    Objects.requireNonNull(alternative, "alternative");
    return Fallback.<R>builder((result, failure) -> alternative.call()).name(name).build();
  }

  @Override
  public String name() {
    return name;
  }

  /**
   * Returns how many calls this fallback has answered.
   *
   * @return fallback answers since it was built
   */
  public long fallbacks() {
    return fallbacks.sum();
  }

  /**
   * Runs {@code action}, answering from the fallback if its outcome is handled.
   *
   * @param action the primary source
   * @return the action's result, or the fallback's answer
   * @throws Exception what the action threw if it is not handled, or what the fallback threw
   */
  public R answer(Callable<? extends R> action) throws Exception {
    Objects.requireNonNull(action, "action");
    R result;
    try {
      result = action.call();
    } catch (Throwable t) {
      if (!isHandled(t)) {
        throw t;
      }
      return answer(null, t);
    }
    if (handlesResult != null && handlesResult.test(result)) {
      return answer(result, null);
    }
    return result;
  }

  /**
   * Starts {@code action} and completes the returned stage with its result, or with the fallback's
   * answer if its outcome is handled.
   *
   * @param action starts the primary source
   * @return a stage with the action's result or the fallback's answer
   * @throws NullPointerException if {@code action} is null
   */
  public CompletionStage<R> answerAsync(Supplier<? extends CompletionStage<? extends R>> action) {
    Objects.requireNonNull(action, "action");
    CompletionStage<? extends R> stage;
    try {
      stage = Objects.requireNonNull(action.get(), "action returned a null stage");
    } catch (Throwable t) {
      stage = CompletableFuture.failedFuture(t);
    }
    CompletableFuture<R> out = new CompletableFuture<>();
    stage.whenComplete((result, failure) -> {
      Throwable cause = failure instanceof CompletionException && failure.getCause() != null
          ? failure.getCause() : failure;
      try {
        if (cause != null) {
          out.complete(isHandled(cause) ? answer(null, cause) : rethrowAsync(failure));
        } else if (handlesResult != null && handlesResult.test(result)) {
          out.complete(answer(result, null));
        } else {
          out.complete(result);
        }
      } catch (Throwable t) {
        out.completeExceptionally(t);
      }
    });
    return out;
  }

  /**
   * Runs {@code action} as {@link #answer(Callable)} does; see the note on types in the class comment.
   *
   * @param action the primary source; must return {@code R}
   * @param <T> the result type the caller expects, which must be {@code R} or a supertype
   * @return the action's result, or the fallback's answer
   * @throws Exception what the action threw if it is not handled, or what the fallback threw
   */
  @Override
  @SuppressWarnings("unchecked") // documented: a Fallback<R> is composed only around actions returning R
  public <T> T call(Callable<? extends T> action) throws Exception {
    return (T) answer((Callable<? extends R>) action);
  }

  /**
   * Starts {@code action} as {@link #answerAsync(Supplier)} does; see the note on types in the class
   * comment.
   *
   * @param action starts the primary source; its stage must complete with an {@code R}
   * @param <T> the result type the caller expects, which must be {@code R} or a supertype
   * @return a stage with the action's result or the fallback's answer
   */
  @Override
  @SuppressWarnings("unchecked") // documented: a Fallback<R> is composed only around actions returning R
  public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
    return (CompletionStage<T>) answerAsync((Supplier<? extends CompletionStage<? extends R>>) (Object) action);
  }

  @Override
  public String toString() {
    return "Fallback{" + name + ", fallbacks=" + fallbacks() + "}";
  }

  private boolean isHandled(Throwable t) {
    return !(t instanceof Error) && !(t instanceof InterruptedException) && handles.test(t);
  }

  private R answer(R result, Throwable failure) throws Exception {
    fallbacks.increment();
    if (listener != EventListener.noop()) {
      listener.onEvent(new Event(name, Event.Kind.FALLBACK, Duration.ZERO,
          failure == null ? "result handled: " + result : "failure handled: " + failure, failure));
    }
    try {
      return fallback.apply(result, failure);
    } catch (Exception e) {
      if (failure != null && e != failure) {
        e.addSuppressed(failure);
      }
      throw e;
    }
  }

  private static <X> X rethrowAsync(Throwable failure) throws Exception {
    if (failure instanceof Error) {
      throw (Error) failure;
    }
    throw (Exception) failure;
  }

  /**
   * Builds a {@link Fallback}. Not thread-safe; the built fallback does not change when the builder
   * is reused.
   *
   * @param <R> the result type
   */
  public static final class Builder<R> {
    private final FallbackFunction<R> fallback;
    private final List<Predicate<? super Throwable>> conditions = new ArrayList<>();
    private String name = "fallback";
    private Predicate<? super R> handlesResult;
    private EventListener listener;

    private Builder(FallbackFunction<R> fallback) {
      this.fallback = fallback;
    }

    /**
     * Sets the instance's name, used in events and logs.
     *
     * @param name a non-blank name; default {@code "fallback"}
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder<R> name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Handles failures of this type and its subtypes (in addition to those already configured).
     *
     * @param type the failure type, for example {@code RejectedException.class}
     * @return this builder
     * @throws NullPointerException if {@code type} is null
     */
    public Builder<R> handle(Class<? extends Throwable> type) {
      Objects.requireNonNull(type, "type");
      conditions.add(type::isInstance);
      return this;
    }

    /**
     * Handles failures matching {@code condition} (in addition to those already configured).
     *
     * @param condition tested on each failure
     * @return this builder
     * @throws NullPointerException if {@code condition} is null
     */
    public Builder<R> handleIf(Predicate<? super Throwable> condition) {
      conditions.add(Objects.requireNonNull(condition, "condition"));
      return this;
    }

    /**
     * Handles results matching {@code condition}, as a cached "unknown" or an error reply.
     *
     * @param condition tested on each result (possibly null)
     * @return this builder
     * @throws NullPointerException if {@code condition} is null
     */
    public Builder<R> handleResult(Predicate<? super R> condition) {
      this.handlesResult = Objects.requireNonNull(condition, "condition");
      return this;
    }

    /**
     * Sets the listener for fallback answers; it is wrapped with {@link
     * EventListener#guarded(EventListener)}.
     *
     * @param listener the listener; default {@link EventListener#logging()}
     * @return this builder
     * @throws NullPointerException if {@code listener} is null
     */
    public Builder<R> listener(EventListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Builds the fallback.
     *
     * @return a new fallback
     */
    public Fallback<R> build() {
      return new Fallback<>(this);
    }
  }
}
