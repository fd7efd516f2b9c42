package dev.massedge.sync.testing;

import com.hivemq.embedded.EmbeddedHiveMQ;
import java.nio.file.Files;
import java.nio.file.Path;

/** HiveMQ CE embedded (the bridge's default broker), anonymous usage statistics off. */
final class EmbeddedBroker implements Broker {
  private final int port;
  private final Path home;
  private EmbeddedHiveMQ hivemq;

  EmbeddedBroker(int port) throws Exception {
    this.port = port;
    this.home = Files.createTempDirectory("hivemq");
    Files.createDirectories(home.resolve("conf"));
    Files.createDirectories(home.resolve("data"));
    Files.createDirectories(home.resolve("extensions"));
    Files.writeString(
        home.resolve("conf/config.xml"),
        """
        <?xml version="1.0"?>
        <hivemq>
          <listeners>
            <tcp-listener><port>%d</port><bind-address>127.0.0.1</bind-address></tcp-listener>
          </listeners>
          <anonymous-usage-statistics><enabled>false</enabled></anonymous-usage-statistics>
          <mqtt><queued-messages><max-queue-size>1000000</max-queue-size></queued-messages></mqtt>
        </hivemq>
        """
            .formatted(port));
    start();
  }

  @Override
  public String name() {
    return "embedded";
  }

  @Override
  public int port() {
    return port;
  }

  @Override
  public void start() throws Exception {
    hivemq =
        EmbeddedHiveMQ.builder()
            .withConfigurationFolder(home.resolve("conf"))
            .withDataFolder(home.resolve("data"))
            .withExtensionsFolder(home.resolve("extensions"))
            .withoutLoggingBootstrap()
            .build();
    hivemq.start().join();
    Broker.awaitPort(port, true, "HiveMQ");
  }

  @Override
  public void stop() throws Exception {
    hivemq.stop().join();
    hivemq.close();
    Broker.awaitPort(port, false, "HiveMQ");
  }

  @Override
  public void close() {
    try {
      stop();
    } catch (Exception e) {
      // already stopped
    }
  }

  @Override
  public String toString() {
    return name();
  }
}
