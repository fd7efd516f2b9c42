package dev.massedge.agent.pipeline;

import jakarta.inject.Singleton;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * Pipeline events fan out to every subscriber (server-sent events today; MQTT with model sync).
 * Slow subscribers lose events rather than slowing pipelines; the last 256 events are kept for
 * {@code GET /v1/events/recent}.
 */
@Singleton
public class EventBus {
  private static final Logger log = LoggerFactory.getLogger(EventBus.class);
  private final Sinks.Many<PipelineEvent> sink = Sinks.many().multicast().directBestEffort();
  private final Deque<PipelineEvent> recent = new ArrayDeque<>();

  public void publish(PipelineEvent e) {
    synchronized (recent) {
      recent.addLast(e);
      if (recent.size() > 256) {
        recent.removeFirst();
      }
    }
    synchronized (sink) {
      sink.tryEmitNext(e); // pipelines publish from their own threads: one emitter at a time
    }
  }

  public Flux<PipelineEvent> events() {
    return sink.asFlux();
  }

  /**
   * Calls {@code subscriber} with every event, on the publishing pipeline's thread. An exception it
   * throws is logged and the subscription stays: a plain {@code events().subscribe(...)} is
   * cancelled by Reactor at the first exception (logged as an error, and that sink hears nothing
   * more).
   */
  public void subscribe(String who, Consumer<PipelineEvent> subscriber) {
    subscribe(who, e -> true, subscriber);
  }

  /** {@link #subscribe(String, Consumer)} for the events {@code which} accepts. */
  public void subscribe(
      String who, Predicate<PipelineEvent> which, Consumer<PipelineEvent> subscriber) {
    sink.asFlux()
        .filter(which)
        .subscribe(
            e -> {
              try {
                subscriber.accept(e);
              } catch (RuntimeException x) {
                log.warn(
                    "{} failed on a {} event (it keeps listening): {}",
                    who,
                    e.type(),
                    x.toString());
              }
            });
  }

  public List<PipelineEvent> recent() {
    synchronized (recent) {
      return List.copyOf(recent);
    }
  }
}
