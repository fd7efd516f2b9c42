package dev.massedge.bridge.mqtt;

import dev.massedge.bridge.BridgeConfig;
import dev.massedge.sync.broker.EmbeddedBroker;
import dev.massedge.sync.broker.PasswordFile;
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

  /** The bridge's user name at its embedded broker (the one administrator there). */
  public static final String ADMIN_USER = "mass-bridge";

  private final EmbeddedBroker broker;
  private final MqttLink link;
  private final String url;

  public BridgeLink(BridgeConfig config) throws IOException {
    MqttLink.Options o;
    if (config.mqttUrl() == null || config.mqttUrl().isBlank()) {
      // the bridge is the embedded broker's administrator, with a secret made for this run
      byte[] secret = EmbeddedBroker.newSecret();
      PasswordFile passwords = null;
      if (config.mqttPasswords() != null && !config.mqttPasswords().isBlank()) {
        try {
          passwords = PasswordFile.load(Path.of(config.mqttPasswords()));
        } catch (IOException e) {
          throw new IOException("mass.bridge.mqtt-passwords: " + e.getMessage(), e);
        }
      }
      EmbeddedBroker.Security security =
          new EmbeddedBroker.Security(config.mqttAcl(), ADMIN_USER, secret, passwords);
      if (config.mqttTlsPort() > 0) {
        if (config.mqttTlsDir() == null || config.mqttTlsDir().isBlank()) {
          throw new IOException(
              "mass.bridge.mqtt-tls-port needs mass.bridge.mqtt-tls-dir (the CA folder of"
                  + " ./mass ca init, with the broker's certificate from ./mass ca server)");
        }
        Path tls = Path.of(config.mqttTlsDir());
        security =
            security.withTls(
                new EmbeddedBroker.Tls(
                    config.mqttTlsPort(),
                    tls,
                    tls.resolve("server.pem"),
                    tls.resolve("server.key")));
      }
      broker =
          new EmbeddedBroker(
              Path.of(config.dataDir()).resolve("broker"),
              config.mqttBind(),
              config.mqttPort(),
              100_000,
              security);
      url = broker.url();
      o =
          new MqttLink.Options(url, "bridge-" + config.instance())
              .persistent()
              .withCredentials(ADMIN_USER, secret);
    } else {
      broker = null;
      url = config.mqttUrl();
      o = new MqttLink.Options(url, "bridge-" + config.instance()).persistent();
    }
    if (config.mqttTlsCa() != null && broker == null) {
      o =
          o.withSocketFactory(
              dev.massedge.sync.broker.DeviceTls.socketFactory(
                  config.mqttTlsCa(), config.mqttTlsCert(), config.mqttTlsKey()));
    }
    if (config.mqttUsername() != null && broker == null) {
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
