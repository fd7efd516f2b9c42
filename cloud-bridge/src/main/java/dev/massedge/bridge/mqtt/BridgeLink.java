package dev.massedge.bridge.mqtt;

import dev.massedge.bridge.BridgeConfig;
import dev.massedge.sync.link.MqttLink;
import io.micronaut.context.annotation.Context;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bridge's MQTT 5 connection, and the embedded broker when no external one is configured. A
 * persistent session: QoS 1 telemetry that arrives while the bridge restarts waits in the broker.
 * Several bridge instances each hold one; they share device traffic through shared subscriptions.
 */
@Context
public final class BridgeLink implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BridgeLink.class);
  private final EmbeddedBroker broker;
  private final MqttLink link;
  private final String url;

  public BridgeLink(BridgeConfig config) throws IOException {
    if (config.mqttUrl() == null || config.mqttUrl().isBlank()) {
      broker =
          new EmbeddedBroker(
              Path.of(config.dataDir()).resolve("broker"), config.mqttBind(), config.mqttPort());
      url = broker.url();
    } else {
      broker = null;
      url = config.mqttUrl();
    }
    MqttLink.Options o = new MqttLink.Options(url, "bridge-" + config.instance()).persistent();
    if (config.mqttUsername() != null) {
      o =
          o.withCredentials(
              config.mqttUsername(),
              config.mqttPassword() == null
                  ? null
                  : config.mqttPassword().getBytes(StandardCharsets.UTF_8));
    }
    link = new MqttLink(o);
    log.info("MQTT link to {} as {}", url, link.clientId());
  }

  public MqttLink link() {
    return link;
  }

  /** Connects (and keeps reconnecting) once every subscriber has subscribed. */
  public void start() {
    link.start();
  }

  public String url() {
    return url;
  }

  public boolean embedded() {
    return broker != null;
  }

  @PreDestroy
  @Override
  public void close() {
    link.close();
    if (broker != null) {
      broker.close();
    }
  }
}
