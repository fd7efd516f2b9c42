package dev.massedge.agent.mqtt;

import io.micronaut.context.annotation.Requires;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import jakarta.inject.Singleton;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * {@code /health} details of the MQTT link. Offline is not DOWN: an edge agent keeps working
 * without its broker, so the link reports UNKNOWN with the reason and its counters.
 */
@Singleton
@Requires(beans = MqttSink.class)
public class MqttHealthIndicator implements HealthIndicator {
  private final MqttSink sink;

  public MqttHealthIndicator(MqttSink sink) {
    this.sink = sink;
  }

  @Override
  public Publisher<HealthResult> getResult() {
    var s = sink.status();
    return Mono.just(
        HealthResult.builder(
                "mqtt",
                Boolean.TRUE.equals(s.get("connected")) ? HealthStatus.UP : HealthStatus.UNKNOWN)
            .details(s)
            .build());
  }
}
