package dev.shepherd.core;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Swallows what a listener throws; see {@link EventListener#guarded(EventListener)}. */
final class GuardedListener implements EventListener {

  private static final Logger LOG = LoggerFactory.getLogger(EventListener.class);

  private final EventListener delegate;

  GuardedListener(EventListener delegate) {
    this.delegate = delegate;
  }

  @Override
  public void onEvent(Event event) {
    try {
      delegate.onEvent(event);
    } catch (RuntimeException e) {
      LOG.debug("event listener {} threw on {} from '{}'", delegate, event.kind(), event.source(), e);
    }
  }
}
