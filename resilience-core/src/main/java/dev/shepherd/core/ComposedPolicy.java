package dev.shepherd.core;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/** Nests policies, outermost first; see {@link Policy#compose(Policy...)}. Immutable. */
final class ComposedPolicy implements Policy {

  private final Policy[] policies;
  private final String name;

  ComposedPolicy(List<? extends Policy> outermostFirst) {
    this.policies = new Policy[outermostFirst.size()];
    for (int i = 0; i < policies.length; i++) {
      policies[i] = Objects.requireNonNull(outermostFirst.get(i), "outermostFirst[" + i + "]");
    }
    this.name = outermostFirst.stream().map(Policy::name).collect(Collectors.joining(" > "));
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public <T> T call(Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    Callable<? extends T> chain = action;
    // Wrap from the innermost outwards, so the first policy ends up outermost.
    for (int i = policies.length - 1; i >= 0; i--) {
      Policy policy = policies[i];
      Callable<? extends T> inner = chain;
      chain = () -> policy.call(inner);
    }
    return chain.call();
  }

  @Override
  public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(action, "action");
    Supplier<? extends CompletionStage<T>> chain = action;
    for (int i = policies.length - 1; i >= 0; i--) {
      Policy policy = policies[i];
      Supplier<? extends CompletionStage<T>> inner = chain;
      chain = () -> policy.callAsync(inner);
    }
    return chain.get();
  }

  @Override
  public String toString() {
    return "Policy.compose(" + name + ")";
  }
}
