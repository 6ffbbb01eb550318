package dev.shepherd.auth;

/**
 * How one request is answered: accepted (fresh or stale), refused, or pending on a {@link Flight}.
 * Immutable; a flight's resolution is shared by all its waiters, including its refusal exception,
 * which is safe because Shepherd's refusals are stackless and have suppression disabled.
 */
final class Resolution<P> {

  enum Kind {
    ACCEPT,
    STALE,
    REFUSE,
    PENDING
  }

  final Kind kind;
  final P principal;
  final RuntimeException refusal;
  final Flight<P> flight;

  private Resolution(Kind kind, P principal, RuntimeException refusal, Flight<P> flight) {
    this.kind = kind;
    this.principal = principal;
    this.refusal = refusal;
    this.flight = flight;
  }

  static <P> Resolution<P> accept(P principal) {
    return new Resolution<>(Kind.ACCEPT, principal, null, null);
  }

  static <P> Resolution<P> stale(P principal) {
    return new Resolution<>(Kind.STALE, principal, null, null);
  }

  static <P> Resolution<P> refuse(RuntimeException refusal) {
    return new Resolution<>(Kind.REFUSE, null, refusal, null);
  }

  static <P> Resolution<P> pending(Flight<P> flight) {
    return new Resolution<>(Kind.PENDING, null, null, flight);
  }

  @Override
  public String toString() {
    return "Resolution{" + kind + "}";
  }
}
