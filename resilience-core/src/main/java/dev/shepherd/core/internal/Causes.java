package dev.shepherd.core.internal;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * What an asynchronous failure really was. Shepherd's plumbing, shared by its own modules; not API.
 * Static, stateless, thread-safe.
 */
public final class Causes {

  /** Wrappers are peeled at most this deep, so a cycle of causes cannot loop forever. */
  private static final int MAX_DEPTH = 16;

  private Causes() {}

  /**
   * Returns the failure inside the {@link CompletionException} and {@link ExecutionException}
   * wrappers that futures and stages add: {@code t} itself when it is neither (or has no cause).
   *
   * @param t a failure, possibly wrapped
   * @return the first cause that is not such a wrapper; {@code null} only if {@code t} is null
   */
  public static Throwable unwrap(Throwable t) {
    Throwable cause = t;
    for (int i = 0; i < MAX_DEPTH
        && (cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null; i++) {
      cause = cause.getCause();
    }
    return cause;
  }
}
