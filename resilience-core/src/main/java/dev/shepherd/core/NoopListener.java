package dev.shepherd.core;

/** The one no-op listener, {@link EventListener#noop()}. */
enum NoopListener implements EventListener {
  INSTANCE;

  @Override
  public void onEvent(Event event) {
    // ignores every event
  }

  @Override
  public String toString() {
    return "EventListener.noop()";
  }
}
