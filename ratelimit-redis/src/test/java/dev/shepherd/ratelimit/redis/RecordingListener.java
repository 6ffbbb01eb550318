package dev.shepherd.ratelimit.redis;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

/** Records every event, for assertions. Thread-safe. */
final class RecordingListener implements EventListener {

  final List<Event> events = new CopyOnWriteArrayList<>();

  @Override
  public void onEvent(Event event) {
    events.add(event);
  }

  List<Event> of(Event.Kind kind) {
    return events.stream().filter(e -> e.kind() == kind).collect(Collectors.toList());
  }
}
