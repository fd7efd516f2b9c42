package dev.massedge.agent.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.agent.pipeline.EventBus;
import dev.massedge.agent.pipeline.PipelineEvent;
import dev.massedge.agent.pipeline.PipelineManager;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.sse.Event;
import java.util.List;
import java.util.Map;
import org.reactivestreams.Publisher;

/** The pipelines' state and their events (server-sent events). */
@Controller("/v1")
public class PipelineController {
  private final PipelineManager pipelines;
  private final EventBus bus;

  private final ObjectMapper json;

  public PipelineController(PipelineManager pipelines, EventBus bus, ObjectMapper json) {
    this.pipelines = pipelines;
    this.bus = bus;
    this.json = json;
  }

  @Get("/pipelines")
  public List<Map<String, Object>> pipelines() {
    return pipelines.status();
  }

  /** Every pipeline event as it happens: {@code event: face_entered}, JSON data. */
  @Get(value = "/events", produces = MediaType.TEXT_EVENT_STREAM)
  public Publisher<Event<String>> events() {
    // written here with the event's own class: the codec would see only the sealed interface
    return bus.events().map(e -> Event.of(toJson(e)).name(e.type()));
  }

  private String toJson(PipelineEvent e) {
    try {
      return json.writeValueAsString(e);
    } catch (JsonProcessingException x) {
      throw new IllegalStateException("cannot write event " + e, x);
    }
  }

  @Get("/events/recent")
  public List<PipelineEvent> recent() {
    return bus.recent();
  }
}
