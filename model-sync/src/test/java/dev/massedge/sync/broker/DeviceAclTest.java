package dev.massedge.sync.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.testing.Broker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The device ACL: the rule table, the password file Mosquitto and the embedded broker share, and
 * both real brokers enforcing it — device A can neither read nor write device B's topics.
 */
class DeviceAclTest {
  @TempDir Path tmp;

  @Test
  void aDeviceHasItsOwnSideOfTheProtocolAndNothingElse() {
    assertThat(DeviceAcl.mayPublish("cam-a", Topics.telemetry("cam-a"))).isTrue();
    assertThat(DeviceAcl.mayPublish("cam-a", Topics.status("cam-a"))).isTrue();
    assertThat(DeviceAcl.mayPublish("cam-a", Topics.chunkRequests("cam-a"))).isTrue();
    assertThat(DeviceAcl.mayPublish("cam-a", Topics.inferReply("cam-a", "bridge-1"))).isTrue();
    assertThat(DeviceAcl.mayPublish("cam-a", "mass/v1/cam-a/commands/reboot/response")).isTrue();
    assertThat(DeviceAcl.mayPublish("cam-a", Topics.telemetry("cam-b"))).isFalse();
    assertThat(DeviceAcl.mayPublish("cam-a", Topics.twinDesired("cam-a"))).isFalse();
    assertThat(DeviceAcl.mayPublish("cam-a", Topics.inferRequest("cam-b", "face"))).isFalse();
    assertThat(DeviceAcl.mayPublish("cam-a", Topics.inferRequest("cam-a", "face"))).isFalse();
    assertThat(DeviceAcl.mayPublish("cam-a", "mass/v1/cam-a/telemetry/extra")).isFalse();
    assertThat(DeviceAcl.mayPublish("cam-a", "homeassistant/sensor/x/config")).isFalse();
    assertThat(DeviceAcl.mayPublish(null, Topics.telemetry("cam-a"))).isFalse();

    assertThat(DeviceAcl.maySubscribe("cam-a", Topics.twinDesired("cam-a"))).isTrue();
    assertThat(DeviceAcl.maySubscribe("cam-a", Topics.inferRequests("cam-a"))).isTrue();
    assertThat(DeviceAcl.maySubscribe("cam-a", "mass/v1/cam-a/infer/face")).isTrue();
    assertThat(DeviceAcl.maySubscribe("cam-a", Topics.inferRequests("cam-b"))).isFalse();
    assertThat(DeviceAcl.maySubscribe("cam-a", "mass/v1/cam-a/#")).isFalse();
    assertThat(DeviceAcl.maySubscribe("cam-a", "mass/v1/+/twin/desired")).isFalse();
    assertThat(DeviceAcl.maySubscribe("cam-a", "mass/v1/cam-a/+")).isFalse();
    assertThat(DeviceAcl.maySubscribe("cam-a", "$share/g/mass/v1/cam-a/twin/desired")).isFalse();
    assertThat(DeviceAcl.maySubscribe("cam-a", Topics.telemetry("cam-a"))).isFalse();

    String acl = DeviceAcl.mosquittoAcl(List.of("mass-bridge"));
    assertThat(acl)
        .contains("user mass-bridge\ntopic readwrite mass/v1/#")
        .contains("pattern write mass/v1/%u/telemetry\n")
        .contains("pattern read mass/v1/%u/infer/+\n")
        .doesNotContain("pattern write mass/v1/%u/twin/desired");
  }

  @Test
  void passwordFilesAreMosquittosOwnFormat() throws Exception {
    Path file = tmp.resolve("passwords");
    Files.write(file, List.of(PasswordFile.entry("cam-a", "s3cret")));
    Process p =
        new ProcessBuilder("mosquitto_passwd", "-b", file.toString(), "cam-b", "other")
            .redirectErrorStream(true)
            .start();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(new String(p.getInputStream().readAllBytes())).isZero();
    PasswordFile pw = PasswordFile.load(file);
    assertThat(pw.size()).isEqualTo(2);
    assertThat(pw.verify("cam-a", "s3cret".getBytes(StandardCharsets.UTF_8))).isTrue();
    assertThat(pw.verify("cam-b", "other".getBytes(StandardCharsets.UTF_8)))
        .isTrue(); // by mosquitto
    assertThat(pw.verify("cam-a", "other".getBytes(StandardCharsets.UTF_8))).isFalse();
    assertThat(pw.verify("cam-c", "s3cret".getBytes(StandardCharsets.UTF_8))).isFalse();
    assertThat(pw.verify("cam-a", null)).isFalse();

    Files.writeString(file, "cam-a:$6$salt$hash\n");
    assertThatThrownBy(() -> PasswordFile.load(file))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("line 1")
        .hasMessageNotContaining("salt");
  }

  /** A raw MQTT 5 client, to see the brokers' own reason codes. */
  static final class Client implements AutoCloseable {
    final MqttAsyncClient c;
    final BlockingQueue<String> received = new LinkedBlockingQueue<>();

    Client(Broker broker, String user, String password) throws MqttException {
      this(broker.url(), user, password, null);
    }

    /** Over TLS when {@code tls} is given (a client certificate, no user name needed). */
    Client(String url, String user, String password, javax.net.ssl.SSLSocketFactory tls)
        throws MqttException {
      c =
          new MqttAsyncClient(
              url, "acl-" + user + "-" + System.nanoTime(), new MemoryPersistence());
      c.setCallback(
          new MqttCallback() {
            @Override
            public void messageArrived(String topic, MqttMessage m) {
              received.add(topic + " " + new String(m.getPayload(), StandardCharsets.UTF_8));
            }

            @Override
            public void disconnected(MqttDisconnectResponse r) {}

            @Override
            public void mqttErrorOccurred(MqttException e) {}

            @Override
            public void deliveryComplete(IMqttToken t) {}

            @Override
            public void connectComplete(boolean reconnect, String uri) {}

            @Override
            public void authPacketArrived(int reason, MqttProperties p) {}
          });
      MqttConnectionOptions o = new MqttConnectionOptions();
      if (user != null) {
        o.setUserName(user);
      }
      if (password != null) {
        o.setPassword(password.getBytes(StandardCharsets.UTF_8));
      }
      o.setAutomaticReconnect(false);
      if (tls != null) {
        o.setSocketFactory(tls);
      }
      this.options = o;
      c.connect(o).waitForCompletion(10_000);
    }

    final MqttConnectionOptions options;

    /** The SUBACK's reason code (0–2 granted; 0x87 not authorized). */
    int subscribe(String filter) throws MqttException {
      IMqttToken t = c.subscribe(new MqttSubscription(filter, 1));
      try {
        t.waitForCompletion(10_000);
      } catch (MqttException e) {
        return e.getReasonCode();
      }
      return t.getReasonCodes()[0];
    }

    /**
     * The PUBACK's reason code: 0 accepted; 0x87 not authorized (Mosquitto), or the client was
     * disconnected for it (HiveMQ: {@link #DISCONNECTED}, and this client connects again).
     */
    int publish(String topic, String payload) throws MqttException {
      if (!c.isConnected()) {
        c.connect(options).waitForCompletion(10_000);
      }
      MqttMessage m = new MqttMessage(payload.getBytes(StandardCharsets.UTF_8));
      m.setQos(1);
      IMqttToken t = c.publish(topic, m);
      try {
        t.waitForCompletion(10_000);
      } catch (MqttException e) {
        return e.getReasonCode();
      }
      int[] codes = t.getReasonCodes();
      return codes == null || codes.length == 0 ? 0 : codes[0];
    }

    @Override
    public void close() throws MqttException {
      try {
        if (c.isConnected()) {
          c.disconnect().waitForCompletion(5000);
        }
      } catch (MqttException gone) {
        c.disconnectForcibly(0, 1000, false); // the broker dropped the connection already
      }
      c.close(true);
    }
  }

  static final int NOT_AUTHORIZED = 0x87;
  static final int DISCONNECTED =
      org.eclipse.paho.mqttv5.client.MqttClientException.REASON_CODE_SERVER_DISCONNECTED;

  @ParameterizedTest
  @ValueSource(strings = {"embedded", "mosquitto"})
  void deviceACanNeitherReadNorWriteDeviceBsTopics(String name) throws Exception {
    try (Broker broker = Broker.withDeviceAcl(name, List.of("cam-a", "cam-b"));
        Client admin = new Client(broker, Broker.ADMIN, Broker.password(Broker.ADMIN));
        Client b = new Client(broker, "cam-b", Broker.password("cam-b"))) {
      assertThat(b.subscribe(Topics.inferRequests("cam-b"))).isLessThan(0x80);
      assertThat(b.subscribe(Topics.twinDesired("cam-b"))).isLessThan(0x80);
      assertThat(admin.subscribe("mass/v1/+/telemetry")).isLessThan(0x80);
      assertThat(admin.subscribe(Topics.twinDesired("cam-a"))).isLessThan(0x80);

      // A cannot call B's model, nor set its own desired twin, nor write B's telemetry: the
      // broker refuses (Mosquitto: PUBACK 0x87; HiveMQ: 0x87, then it drops the connection)
      for (String topic :
          List.of(
              Topics.inferRequest("cam-b", "face-short"),
              Topics.twinDesired("cam-a"),
              Topics.telemetry("cam-b"))) {
        try (Client a = new Client(broker, "cam-a", Broker.password("cam-a"))) {
          assertThat(a.publish(topic, "from a")).as(topic).isIn(NOT_AUTHORIZED, DISCONNECTED);
        }
      }
      // A cannot read B's topics, nor everyone's: HiveMQ refuses the subscription (SUBACK 0x87);
      // Mosquitto grants it but delivers nothing its ACL does not let A read
      List<String> filters =
          List.of(
              Topics.twinDesired("cam-b"),
              Topics.inferRequests("cam-b"),
              Topics.inferReplies("bridge-1"),
              "mass/v1/#",
              "#",
              "$share/x/mass/v1/+/infer/+");
      try (Client a = new Client(broker, "cam-a", Broker.password("cam-a"))) {
        for (String f : filters) {
          int code = a.subscribe(f);
          if (name.equals("embedded")) {
            assertThat(code).as(f).isEqualTo(NOT_AUTHORIZED);
          }
        }
        // what A may do arrives; what the administrator sends B arrives — and A sees none of it
        assertThat(a.publish(Topics.telemetry("cam-a"), "own")).isEqualTo(0);
        assertThat(admin.received.poll(10, TimeUnit.SECONDS))
            .isEqualTo(Topics.telemetry("cam-a") + " own");
        assertThat(admin.publish(Topics.inferRequest("cam-b", "face-short"), "from the bridge"))
            .isLessThan(0x80);
        assertThat(admin.publish(Topics.twinDesired("cam-b"), "desired for b")).isLessThan(0x80);
        assertThat(admin.publish(Topics.inferReply("cam-b", "bridge-1"), "reply"))
            .isLessThan(0x80); // 0x10: nobody listens
        assertThat(b.received.poll(10, TimeUnit.SECONDS))
            .isEqualTo(Topics.inferRequest("cam-b", "face-short") + " from the bridge");
        assertThat(b.received.poll(10, TimeUnit.SECONDS))
            .isEqualTo(Topics.twinDesired("cam-b") + " desired for b");
        Thread.sleep(500); // anything A's subscriptions let through would be here by now
        assertThat(a.received).isEmpty();
        assertThat(b.received).isEmpty();
        assertThat(admin.received).as("nothing of A's refused publishes").isEmpty();
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"embedded", "mosquitto"})
  void wrongOrMissingCredentialsCannotConnect(String name) throws Exception {
    try (Broker broker = Broker.withDeviceAcl(name, List.of("cam-a"))) {
      for (String[] creds :
          new String[][] {
            {"cam-a", "wrong"},
            {"cam-x", "pw-cam-x"},
            {"cam-a", null},
            {null, null},
            {Broker.ADMIN, "guess"}
          }) {
        assertThatThrownBy(() -> new Client(broker, creds[0], creds[1]).close())
            .as("%s / %s", creds[0], creds[1])
            .isInstanceOf(MqttException.class);
      }
      try (Client ok = new Client(broker, "cam-a", Broker.password("cam-a"))) {
        assertThat(ok.c.isConnected()).isTrue();
      }
    }
  }
}
