package dev.shepherd.auth;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;

/** Keeps every event, for assertions. */
final class RecordingListener implements EventListener {

  final ConcurrentLinkedQueue<Event> events = new ConcurrentLinkedQueue<>();

  @Override
  public void onEvent(Event event) {
    events.add(event);
  }

  long count(Event.Kind kind) {
    return events.stream().filter(e -> e.kind() == kind).count();
  }

  List<Event> of(Event.Kind kind) {
    return events.stream().filter(e -> e.kind() == kind).collect(Collectors.toList());
  }
}
