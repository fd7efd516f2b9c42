package dev.massedge.agent;

import dev.massedge.agent.models.ModelRegistry;
import dev.massedge.inference.model.LoadedModel;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/** {@code /health}: UP while at least one model serves; details name every model's state. */
@Singleton
public class ModelsHealthIndicator implements HealthIndicator {
  private final ModelRegistry models;

  public ModelsHealthIndicator(ModelRegistry models) {
    this.models = models;
  }

  @Override
  public Publisher<HealthResult> getResult() {
    Map<String, Object> details = new LinkedHashMap<>();
    boolean any = false;
    for (LoadedModel m : models.all()) {
      any |= m.ready();
      details.put(
          m.name() + "@" + m.version(),
          m.ready()
              ? "READY on " + m.session().executionProvider()
              : "NOT READY: " + m.failure().message());
    }
    return Mono.just(
        HealthResult.builder("models", any ? HealthStatus.UP : HealthStatus.DOWN)
            .details(details)
            .build());
  }
}
