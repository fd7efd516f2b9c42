package dev.massedge.bridge.mqtt;

import com.hivemq.embedded.EmbeddedHiveMQ;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bridge's own MQTT 5 broker (HiveMQ CE embedded) for the single-machine default: persistent
 * sessions and retained messages in {@code home/data}, anonymous usage statistics off. Production
 * points {@code mass.bridge.mqtt-url} at Mosquitto or a broker cluster instead.
 */
public final class EmbeddedBroker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedBroker.class);
  private final EmbeddedHiveMQ hivemq;
  private final int port;

  public EmbeddedBroker(Path home, String bind, int port) throws IOException {
    this.port = port;
    Files.createDirectories(home.resolve("conf"));
    Files.createDirectories(home.resolve("data"));
    Files.createDirectories(home.resolve("extensions"));
    Files.writeString(
        home.resolve("conf/config.xml"),
        """
        <?xml version="1.0"?>
        <hivemq>
          <listeners>
            <tcp-listener><port>%d</port><bind-address>%s</bind-address></tcp-listener>
          </listeners>
          <anonymous-usage-statistics><enabled>false</enabled></anonymous-usage-statistics>
          <mqtt><queued-messages><max-queue-size>100000</max-queue-size></queued-messages></mqtt>
        </hivemq>
        """
            .formatted(port, bind));
    hivemq =
        EmbeddedHiveMQ.builder()
            .withConfigurationFolder(home.resolve("conf"))
            .withDataFolder(home.resolve("data"))
            .withExtensionsFolder(home.resolve("extensions"))
            .withoutLoggingBootstrap()
            .build();
    long t0 = System.nanoTime();
    try {
      hivemq.start().join();
    } catch (RuntimeException e) {
      throw new IOException(
          "the embedded MQTT broker could not listen on "
              + bind
              + ":"
              + port
              + " (set mass.bridge.mqtt-port, or mass.bridge.mqtt-url for an external broker): "
              + e.getMessage(),
          e);
    }
    log.info(
        "embedded MQTT 5 broker on {}:{} ({} ms)",
        bind,
        port,
        (System.nanoTime() - t0) / 1_000_000);
  }

  public String url() {
    return "tcp://127.0.0.1:" + port;
  }

  @Override
  public void close() {
    try {
      hivemq.stop().join();
      hivemq.close();
    } catch (Exception e) {
      log.warn("embedded broker stop: {}", e.toString());
    }
  }
}
