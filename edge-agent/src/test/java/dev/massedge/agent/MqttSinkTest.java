package dev.massedge.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.massedge.inference.TestAssets;
import dev.massedge.sync.testing.Broker;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.junit.jupiter.api.Test;

/** Events and Home Assistant discovery through a real Mosquitto; an agent with no broker. */
class MqttSinkTest {
  static Map<String, String> subscribe(MqttClient c, String filter) throws MqttException {
    Map<String, String> seen = new ConcurrentHashMap<>();
    c.setCallback(collector(seen));
    c.connect(new MqttConnectionOptions());
    c.subscribe(filter, 1);
    return seen;
  }

  /** Collects every message by topic (bodies of one topic joined by newlines). */
  static MqttCallback collector(Map<String, String> seen) {
    return new MqttCallback() {
      @Override
      public void disconnected(MqttDisconnectResponse r) {}

      @Override
      public void mqttErrorOccurred(MqttException e) {}

      @Override
      public void messageArrived(String topic, MqttMessage m) {
        String body = new String(m.getPayload(), StandardCharsets.UTF_8);
        seen.merge(topic, body, (a, b) -> a + "\n" + b);
      }

      @Override
      public void deliveryComplete(IMqttToken t) {}

      @Override
      public void connectComplete(boolean r, String uri) {}

      @Override
      public void authPacketArrived(int code, MqttProperties p) {}
    };
  }

  @Test
  void eventsStateAndDiscoveryReachHomeAssistantsTopics() throws Exception {
    try (Broker broker = Broker.mosquitto()) {
      MqttClient watcher = new MqttClient(broker.url(), "watcher");
      Map<String, String> seen = subscribe(watcher, "#");
      Path dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "mqtt");
      Path face =
          TestAssets.ffmpeg(
              dir.resolve("face.mp4"),
              "-loop",
              "1",
              "-i",
              TestAssets.media("astronaut.png").toString(),
              "-t",
              "3",
              "-r",
              "10",
              "-pix_fmt",
              "yuv420p");
      Map<String, Object> p = new HashMap<>();
      p.put("mass.mqtt.url", broker.url());
      p.put("mass.agent.device-id", "cam7");
      p.put("mass.pipelines.porch.kind", "camera");
      p.put("mass.pipelines.porch.input", face.toString());
      p.put("mass.pipelines.porch.fps", "10");
      p.put("mass.pipelines.kiosk.kind", "voice");
      p.put("mass.pipelines.kiosk.source", "wav");
      p.put("mass.pipelines.kiosk.input", TestAssets.media("hey_jarvis_16k.wav").toString());
      p.put(
          "mass.pipelines.kiosk.wake-word-dir",
          TestAssets.models().resolve("demo-only/openwakeword").toString());
      p.put("mass.pipelines.kiosk.wake-words", "hey_jarvis_v0.1");
      try (ApplicationContext ctx =
          ApplicationContext.run(EmbeddedServer.class, p, "test").getApplicationContext()) {
        await()
            .atMost(Duration.ofSeconds(30))
            .until(
                () -> seen.getOrDefault("mass/v1/cam7/ha/events/porch", "").contains("face_left"));
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () -> seen.getOrDefault("mass/v1/cam7/ha/events/kiosk", "").contains("wake_word"));
        assertThat(seen.get("mass/v1/cam7/ha/status")).contains("online");
        assertThat(seen.get("homeassistant/sensor/mass_cam7_porch_faces/config"))
            .contains("\"state_topic\":\"mass/v1/cam7/ha/state/porch\"");
        assertThat(seen.get("homeassistant/binary_sensor/mass_cam7_porch_face_present/config"))
            .contains("occupancy");
        assertThat(seen)
            .containsKeys(
                "homeassistant/binary_sensor/mass_cam7_kiosk_wake/config",
                "homeassistant/binary_sensor/mass_cam7_kiosk_speaking/config");
        assertThat(seen.get("mass/v1/cam7/ha/state/porch"))
            .contains("\"faces\":1")
            .contains("\"faces\":0");
        assertThat(seen.get("mass/v1/cam7/ha/state/kiosk"))
            .contains("\"wake\":\"ON\"")
            .contains("\"speaking\":\"ON\"");
        assertThat(
                new AgentClient(ctx.getBean(EmbeddedServer.class).getURI()).get("/health").body())
            .contains("\"connected\":true");
      }
      // a clean stop says offline
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> seen.get("mass/v1/cam7/ha/status").endsWith("offline"));
      watcher.disconnect();
    }
  }

  @Test
  void eventsMadeWhileTheBrokerIsDownAreKeptAndSentWhenItComesUp() throws Exception {
    int port = Broker.freePort();
    Map<String, Object> p = new HashMap<>();
    p.put("mass.mqtt.url", "tcp://127.0.0.1:" + port);
    p.put("mass.agent.device-id", "kiosk3");
    p.put("mass.pipelines.kiosk.kind", "voice");
    p.put("mass.pipelines.kiosk.source", "wav");
    p.put("mass.pipelines.kiosk.input", TestAssets.media("vad_test_16k.wav").toString());
    try (ApplicationContext ctx =
        ApplicationContext.run(EmbeddedServer.class, p, "test").getApplicationContext()) {
      AgentClient client = new AgentClient(ctx.getBean(EmbeddedServer.class).getURI());
      await()
          .atMost(Duration.ofSeconds(15))
          .until(
              () -> PipelinesTest.pipeline(client, "kiosk").get("state").asText().equals("ended"));
      JsonNode offline = mqtt(client);
      assertThat(offline.get("connected").asBoolean()).isFalse();
      // 2 utterances and 4 speaking changes, each an event and (speaking) a state update
      assertThat(offline.get("buffered").asInt()).isGreaterThanOrEqualTo(6);
      try (Broker broker = Broker.mosquitto(port)) {
        await()
            .atMost(Duration.ofSeconds(30))
            .until(
                () ->
                    mqtt(client).get("connected").asBoolean()
                        && mqtt(client).get("buffered").asInt() == 0);
        JsonNode online = mqtt(client);
        assertThat(online.get("dropped").asInt()).isZero();
        assertThat(online.get("published").asInt())
            .isGreaterThanOrEqualTo(offline.get("buffered").asInt());
      }
    }
  }

  static JsonNode mqtt(AgentClient client) {
    return client.get("/health").json().get("details").get("mqtt").get("details");
  }

  @Test
  void anAgentWithNoBrokerStartsServesAndSaysWhy() {
    Map<String, Object> p =
        Map.of("mass.mqtt.url", "tcp://127.0.0.1:9", "mass.agent.device-id", "lonely");
    try (ApplicationContext ctx =
        ApplicationContext.run(EmbeddedServer.class, p, "test").getApplicationContext()) {
      AgentClient client = new AgentClient(ctx.getBean(EmbeddedServer.class).getURI());
      assertThat(client.get("/v2/health/ready").status()).isEqualTo(200);
      await()
          .atMost(Duration.ofSeconds(15))
          .until(() -> client.get("/health").body().contains("cannot connect"));
      assertThat(
              client
                  .post("/v1/faces", TestAssets.mediaBytes("astronaut.png"), "image/png")
                  .status())
          .isEqualTo(200);
    }
  }
}
