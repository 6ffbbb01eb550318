package dev.shepherd.core.internal;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.io.IOException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class CausesTest {

  @Test
  void unwrapPeelsEveryCompletionAndExecutionWrapper() {
    IOException root = new IOException("down");
    assertSame(root, Causes.unwrap(new CompletionException(new ExecutionException(new CompletionException(root)))));
  }

  @Test
  void unwrapLeavesOtherFailuresAndWrappersWithoutACauseAlone() {
    IllegalStateException wrapperWithCause = new IllegalStateException(new IOException());
    assertSame(wrapperWithCause, Causes.unwrap(wrapperWithCause));
    CompletionException empty = new CompletionException("no cause", null);
    assertSame(empty, Causes.unwrap(empty));
    assertNull(Causes.unwrap(null));
  }

  /** A wrapper whose cause can be anything, itself included. */
  private static final class Loop extends CompletionException {
    private static final long serialVersionUID = 1L;
    private transient Throwable next = this;

    @Override
    public synchronized Throwable getCause() {
      return next;
    }
  }

  @Test
  void unwrapEndsOnACycleOfCauses() {
    Loop self = new Loop();
    assertSame(self, Causes.unwrap(self)); // a -> a -> ...: stops after a bounded number of steps
    Loop a = new Loop();
    Loop b = new Loop();
    a.next = b;
    b.next = a;
    Throwable result = Causes.unwrap(a);
    assertSame(true, result == a || result == b);
  }
}
