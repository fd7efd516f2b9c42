package dev.massedge.bridge.testing;

import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** A cloud bridge in this JVM: its embedded broker (or an external one) and H2 or PostgreSQL. */
public final class BridgeApp implements AutoCloseable {
  public static final String ADMIN = "admin-token-for-tests-0123456789";
  public static final String VIEWER = "viewer-token-for-tests-012345678";
  public final Path dataDir;
  public final int mqttPort;
  public final String mqttUrl;
  private final EmbeddedServer server;

  public BridgeApp(Path dataDir, String dbUrl, String externalMqtt, Map<String, Object> extra)
      throws IOException {
    this(dataDir, dbUrl, externalMqtt, freePort(), extra);
  }

  public BridgeApp(
      Path dataDir, String dbUrl, String externalMqtt, int mqttPort, Map<String, Object> extra) {
    this.dataDir = dataDir;
    this.mqttPort = mqttPort;
    this.mqttUrl = externalMqtt != null ? externalMqtt : "tcp://127.0.0.1:" + mqttPort;
    Map<String, Object> p = new HashMap<>();
    p.put("micronaut.server.port", -1);
    p.put("mass.bridge.data-dir", dataDir.toString());
    p.put("mass.bridge.mqtt-port", mqttPort);
    p.put("mass.bridge.mqtt-bind", "127.0.0.1");
    p.put("mass.bridge.mqtt-url", externalMqtt == null ? "" : externalMqtt);
    p.put("mass.bridge.db-url", dbUrl == null ? "" : dbUrl);
    p.put("mass.bridge.admin-tokens", ADMIN);
    p.put("mass.bridge.viewer-tokens", VIEWER);
    p.put("mass.bridge.rollout-tick", "200ms");
    p.putAll(extra);
    server = ApplicationContext.run(EmbeddedServer.class, p);
  }

  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  public String url() {
    return "http://127.0.0.1:" + server.getPort();
  }

  public Api api() {
    return new Api(url(), ADMIN);
  }

  public <T> T bean(Class<T> type) {
    return server.getApplicationContext().getBean(type);
  }

  @Override
  public void close() {
    server.getApplicationContext().close();
  }
}
