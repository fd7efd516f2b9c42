package dev.massedge.agent.sync;

import io.micronaut.context.annotation.Requires;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * {@code /health} details of model sync: the link, each model's reported state, and the outbox's
 * backlog. Offline is UNKNOWN, not DOWN: the agent keeps serving and keeps what it must send.
 */
@Singleton
@Requires(beans = SyncService.class)
public class SyncHealthIndicator implements HealthIndicator {
  private final SyncService sync;
  private final TelemetryService telemetry;

  public SyncHealthIndicator(SyncService sync, TelemetryService telemetry) {
    this.sync = sync;
    this.telemetry = telemetry;
  }

  @Override
  public Publisher<HealthResult> getResult() {
    Map<String, Object> d = new LinkedHashMap<>(sync.status());
    d.put("outbox", telemetry.status());
    return Mono.just(
        HealthResult.builder(
                "sync",
                Boolean.TRUE.equals(d.get("connected")) ? HealthStatus.UP : HealthStatus.UNKNOWN)
            .details(d)
            .build());
  }
}
