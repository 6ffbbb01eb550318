package dev.shepherd.auth;

import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/** The result of {@link Authenticator#map(Function)}: converts principals, passes failures. */
final class MappedAuthenticator<C, P, Q> implements Authenticator<C, Q> {

  private final Authenticator<C, P> delegate;
  private final Function<? super P, ? extends Q> mapper;

  MappedAuthenticator(Authenticator<C, P> delegate, Function<? super P, ? extends Q> mapper) {
    this.delegate = delegate;
    this.mapper = mapper;
  }

  @Override
  public Q authenticate(C credentials) {
    return Objects.requireNonNull(mapper.apply(delegate.authenticate(credentials)), "mapped principal");
  }

  @Override
  public CompletionStage<Q> authenticateAsync(C credentials) {
    return delegate.authenticateAsync(credentials)
        .thenApply(p -> Objects.requireNonNull(mapper.apply(p), "mapped principal"));
  }

  @Override
  public String toString() {
    return delegate + ".map(" + mapper + ")";
  }
}
