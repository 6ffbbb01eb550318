package dev.shepherd.examples;

/** A command line the examples cannot run; the message says why, for the user. */
final class UsageException extends Exception {

  private static final long serialVersionUID = 1L;

  UsageException(String message) {
    super(message);
  }
}
