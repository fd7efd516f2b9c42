package dev.massedge.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.massedge.bridge.testing.Api;
import dev.massedge.bridge.testing.BridgeApp;
import dev.massedge.bridge.testing.LogCapture;
import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.link.MqttLink;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bridge's embedded broker with device passwords made by {@code mass broker passwd}: a device
 * with its password comes online, a wrong password cannot connect, and a device cannot speak for
 * another one; {@code mass broker acl} prints the same rules for Mosquitto.
 */
class BrokerSecurityTest {
  @TempDir Path tmp;

  static String cli(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int s =
        dev.massedge.bridge.cli.Cli.run(
            args, new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
    assertThat(s).isZero();
    return out.toString(StandardCharsets.UTF_8);
  }

  static byte[] birth(String id) {
    return SyncCodec.write(
        new SyncMessage.Status(
            SyncCodec.SCHEMA, true, "test", "amd64", "none", Map.of(), System.currentTimeMillis()));
  }

  static MqttLink device(BridgeApp bridge, String user, String password) {
    return new MqttLink(
            new MqttLink.Options(bridge.mqttUrl, "sec-" + user + "-" + System.nanoTime())
                .withCredentials(user, password.getBytes(StandardCharsets.UTF_8)))
        .start();
  }

  @Test
  void devicesProveTheirNameAndKeepToTheirOwnTopics() throws Exception {
    Path passwords = tmp.resolve("passwords");
    String pw1 = cli("broker", "passwd", passwords.toString(), "cam-1").trim();
    String pw2 = cli("broker", "passwd", passwords.toString(), "cam-2").trim();
    String pw1Again = cli("broker", "passwd", passwords.toString(), "cam-1").trim();
    assertThat(pw1Again).isNotEqualTo(pw1).hasSizeGreaterThanOrEqualTo(20);
    assertThat(Files.readAllLines(passwords)).hasSize(2); // cam-1's line replaced, not added
    assertThat(Files.readString(passwords)).doesNotContain(pw1Again).doesNotContain(pw2);

    try (LogCapture logs = new LogCapture();
        BridgeApp bridge =
            new BridgeApp(
                tmp.resolve("bridge"),
                null,
                null,
                Map.of("mass.bridge.mqtt-passwords", passwords.toString()))) {
      Api api = bridge.api();
      assertThat(api.get("/api/v1/devices").status()).isEqualTo(200); // the admin token, used
      try (MqttLink cam1 = device(bridge, "cam-1", pw1Again);
          MqttLink impostor = device(bridge, "cam-2", pw1Again)) {
        await().atMost(Duration.ofSeconds(20)).until(cam1::connected);
        cam1.publish(Topics.status("cam-1"), birth("cam-1"), 1, true).get();
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> api.get("/api/v1/devices/cam-1").body().path("online").asBoolean());

        // cam-1 speaking for cam-2: refused by the broker, cam-2 never appears
        var forged = cam1.publish(Topics.status("cam-2"), birth("cam-2"), 1, true);
        org.assertj.core.api.Assertions.assertThatThrownBy(forged::get)
            .hasMessageContaining("mass/v1/cam-2/status");
        // cam-2's name with cam-1's password: never connected
        Thread.sleep(1500);
        assertThat(impostor.connected()).isFalse();
        assertThat(api.get("/api/v1/devices/cam-2").status()).isEqualTo(404);
      }
      // the refusals were logged — and no password or token ever was
      List<String> lines = logs.lines();
      assertThat(lines).anyMatch(l -> l.contains("refused") && l.contains("cam-2"));
      for (String secret : List.of(pw1Again, pw1, pw2, BridgeApp.ADMIN, BridgeApp.VIEWER)) {
        assertThat(lines).noneMatch(l -> l.contains(secret));
      }
    }
    assertThat(cli("broker", "acl"))
        .contains("user mass-bridge")
        .contains("pattern write mass/v1/%u/telemetry")
        .contains("pattern read mass/v1/%u/twin/desired");
  }

  @Test
  void devicesWithCertificatesFromTheFleetCaOverTls() throws Exception {
    Path ca = tmp.resolve("ca");
    assertThat(cli("ca", "init", ca.toString())).contains("CA made in");
    assertThat(cli("ca", "server", ca.toString(), "127.0.0.1", "localhost")).contains("server.pem");
    Path devices = tmp.resolve("devices");
    for (String d : new String[] {"cam-1", "cam-2"}) {
      assertThat(cli("ca", "device", ca.toString(), d, "--days", "30", "--out", devices.toString()))
          .contains(d + ".pem");
    }
    assertThat(cli("ca", "revoke", ca.toString(), "cam-2")).contains("revoked 1 certificate");
    int tlsPort = BridgeApp.freePort();
    try (BridgeApp bridge =
        new BridgeApp(
            tmp.resolve("bridge"),
            null,
            null,
            Map.of(
                "mass.bridge.mqtt-tls-port", tlsPort, "mass.bridge.mqtt-tls-dir", ca.toString()))) {
      Api api = bridge.api();
      String url = "ssl://127.0.0.1:" + tlsPort;
      try (MqttLink cam1 = tlsDevice(url, ca, devices, "cam-1");
          MqttLink cam2 = tlsDevice(url, ca, devices, "cam-2")) {
        await().atMost(Duration.ofSeconds(20)).until(cam1::connected);
        cam1.publish(Topics.status("cam-1"), birth("cam-1"), 1, true).get();
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> api.get("/api/v1/devices/cam-1").body().path("online").asBoolean());
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> cam1.publish(Topics.status("cam-2"), birth("cam-2"), 1, true).get())
            .hasMessageContaining("mass/v1/cam-2/status");
        Thread.sleep(1500);
        assertThat(cam2.connected()).as("a revoked certificate").isFalse();
        assertThat(api.get("/api/v1/devices/cam-2").status()).isEqualTo(404);
      }
    }
  }

  @Test
  void theBridgeChecksWhoSentEveryDeviceMessageEvenWithoutTheAcl() throws Exception {
    // the broker's ACL off (a misconfiguration, or a broker that lets through what it should
    // not): the embedded broker still stamps who sent each message, and the bridge refuses a
    // message on another device's topic — a forged stamp included — and counts it
    try (BridgeApp bridge =
        new BridgeApp(tmp.resolve("bridge"), null, null, Map.of("mass.bridge.mqtt-acl", false))) {
      Api api = bridge.api();
      try (MqttLink cam1 =
          new MqttLink(
                  new MqttLink.Options(bridge.mqttUrl, "sender-cam-1")
                      .withCredentials("cam-1", null))
              .start()) {
        await().atMost(Duration.ofSeconds(20)).until(cam1::connected);
        long before = api.ok("/api/v1/overview").path("messagesRefused").asLong();
        // one at a time: the bridge's own link may subscribe after the device published, and then
        // hears only the last retained status of each topic, not every message sent on it
        cam1.publish(Topics.status("cam-2"), birth("cam-2"), 1, true).get(); // the broker lets it
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> api.ok("/api/v1/overview").path("messagesRefused").asLong() >= before + 1);
        var forged = new org.eclipse.paho.mqttv5.common.packet.MqttProperties();
        forged.setUserProperties(
            List.of(
                new org.eclipse.paho.mqttv5.common.packet.UserProperty(
                    Topics.SENDER_PROPERTY, "cam-2")));
        cam1.publish(Topics.status("cam-2"), birth("cam-2"), 1, true, forged).get();
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> api.ok("/api/v1/overview").path("messagesRefused").asLong() >= before + 2);
        cam1.publish(Topics.status("cam-1"), birth("cam-1"), 1, true).get();
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> api.get("/api/v1/devices/cam-1").body().path("online").asBoolean());
        assertThat(api.get("/api/v1/devices/cam-2").status()).isEqualTo(404);
      }
    }
  }

  static MqttLink tlsDevice(String url, Path ca, Path devices, String id) throws Exception {
    return new MqttLink(
            new MqttLink.Options(url, "tls-" + id)
                .withCredentials(id, null)
                .withSocketFactory(
                    dev.massedge.sync.broker.DeviceTls.socketFactory(
                        ca.resolve("ca.pem"),
                        devices.resolve(id + ".pem"),
                        devices.resolve(id + ".key"))))
        .start();
  }
}
