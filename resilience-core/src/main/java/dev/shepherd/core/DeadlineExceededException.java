package dev.shepherd.core;

/**
 * Thrown (or used to fail a stage) when a policy does not start work because the call's
 * {@link Deadline} has passed, or because the work could not finish before it.
 *
 * <p>The caller has already given up, or will have by the time an answer could come, so there is
 * nothing to come back for: {@link #retryAfter()} is empty. Like every {@link RejectedException}
 * it carries no stack trace and names the policy that refused. Immutable.
 */
public class DeadlineExceededException extends RejectedException {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the rejection.
   *
   * @param policyName the name of the policy that did not start the work
   * @param message what was late, and by how much when known
   * @throws NullPointerException if {@code policyName} or {@code message} is null
   */
  public DeadlineExceededException(String policyName, String message) {
    super(policyName, message, null);
  }

  /**
   * Creates the rejection, with the failure that used up the time (the last attempt's, say).
   *
   * @param policyName the name of the policy that did not start the work
   * @param message what was late, and by how much when known
   * @param cause the last failure before giving up, or null
   * @throws NullPointerException if {@code policyName} or {@code message} is null
   */
  public DeadlineExceededException(String policyName, String message, Throwable cause) {
    super(policyName, message, null, cause);
  }
}
