package dev.massedge.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.link.MqttLink;
import dev.massedge.sync.testing.Broker;
import io.micronaut.context.ApplicationContext;
import io.micronaut.http.client.HttpClient;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Open Inference Protocol over MQTT 5 against real brokers: the same tensors as HTTP {@code
 * /infer}; an unknown model, a malformed payload and an oversized one get an error answer with its
 * code, never silence.
 */
class MqttInferenceTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  static String request() {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < 128 * 128 * 3; i++) {
      b.append(i == 0 ? "" : ",").append((i * 37 % 255) / 127.5 - 1);
    }
    return "{\"id\":\"r1\",\"inputs\":[{\"name\":\"input:0\",\"datatype\":\"FP32\","
        + "\"shape\":[1,128,128,3],\"data\":"
        + b
        + "]}]}";
  }

  @ParameterizedTest
  @ValueSource(strings = {"embedded", "mosquitto"})
  void aModelAnswersOverMqttAsItDoesOverHttp(String brokerName) throws Exception {
    try (Broker broker = Broker.of(brokerName);
        Bridge bridge = new Bridge(broker.url(), tmp)) {
      Map<String, Object> props = SyncTest.agentProps(broker.url(), tmp, "cam-oip", bridge, 1000);
      props.put("mass.sync.infer-max-bytes", 2_000_000);
      MqttLink caller = new MqttLink(new MqttLink.Options(broker.url(), "caller")).start();
      String replies = "test/caller/infer/response";
      caller.listenForResponses(replies);
      try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, props)) {
        await().atMost(Duration.ofSeconds(20)).until(caller::connected);
        await().atMost(Duration.ofSeconds(20)).until(() -> bridge.status.containsKey("cam-oip"));
        String body = request();
        String viaHttp;
        try (HttpClient c = HttpClient.create(agent.getURL())) {
          viaHttp =
              c.toBlocking()
                  .retrieve(
                      io.micronaut.http.HttpRequest.POST("/v2/models/face-short/infer", body));
        }
        MqttMessage viaMqtt = call(caller, replies, "face-short", body.getBytes());
        assertThat(MqttLink.userProperty(viaMqtt, "status")).isEqualTo("ok");
        JsonNode http = JSON.readTree(viaHttp);
        JsonNode mqtt = JSON.readTree(viaMqtt.getPayload());
        assertThat(mqtt.path("outputs")).hasSize(4);
        assertThat(mqtt.path("outputs")).isEqualTo(http.path("outputs"));
        assertThat(mqtt.path("id").asText()).isEqualTo("r1");
        assertThat(mqtt.path("model_name").asText()).isEqualTo("face-short");

        // the binary tensor extension: the same input as raw little-endian floats after the
        // JSON, the outputs back as raw bytes, the JSON's length in a user property
        String head =
            "{\"parameters\":{\"binary_data_output\":true},\"inputs\":[{\"name\":\"input:0\","
                + "\"datatype\":\"FP32\",\"shape\":[1,128,128,3],\"parameters\":"
                + "{\"binary_data_size\":196608}}]}";
        java.nio.ByteBuffer raw =
            java.nio.ByteBuffer.allocate(head.length() + 196608)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        raw.put(head.getBytes(StandardCharsets.UTF_8));
        for (JsonNode v : JSON.readTree(body).path("inputs").get(0).path("data")) {
          raw.putFloat(v.floatValue());
        }
        MqttMessage bin =
            caller
                .request(
                    Topics.inferRequest("cam-oip", "face-short"),
                    raw.array(),
                    replies,
                    Duration.ofSeconds(15),
                    Map.of("inference-header-content-length", Integer.toString(head.length())))
                .get(20, TimeUnit.SECONDS);
        assertThat(MqttLink.userProperty(bin, "status")).isEqualTo("ok");
        int jsonLength =
            Integer.parseInt(MqttLink.userProperty(bin, "inference-header-content-length"));
        JsonNode binHead = JSON.readTree(java.util.Arrays.copyOf(bin.getPayload(), jsonLength));
        java.nio.ByteBuffer out =
            java.nio.ByteBuffer.wrap(
                    bin.getPayload(), jsonLength, bin.getPayload().length - jsonLength)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < 4; k++) {
          JsonNode o = binHead.path("outputs").get(k);
          JsonNode want = http.path("outputs").get(k);
          assertThat(o.path("name")).isEqualTo(want.path("name"));
          for (JsonNode v : want.path("data")) {
            assertThat(out.getFloat()).isEqualTo(v.floatValue());
          }
        }
        assertThat(out.hasRemaining()).isFalse();

        MqttMessage unknown = call(caller, replies, "no-such-model", body.getBytes());
        assertThat(MqttLink.userProperty(unknown, "status")).isEqualTo("model_not_found");
        assertThat(new String(unknown.getPayload(), StandardCharsets.UTF_8))
            .contains("no-such-model");

        MqttMessage malformed = call(caller, replies, "face-short", "{\"inputs\": [".getBytes());
        assertThat(MqttLink.userProperty(malformed, "status")).isNotIn("ok", "internal");
        assertThat(JSON.readTree(malformed.getPayload()).path("error").asText()).isNotBlank();

        MqttMessage wrongShape =
            call(
                caller,
                replies,
                "face-short",
                body.replace("[1,128,128,3]", "[1,64,64,3]").getBytes());
        assertThat(MqttLink.userProperty(wrongShape, "status")).isNotIn("ok", "internal");

        MqttMessage big = call(caller, replies, "face-short", new byte[2_500_000]);
        assertThat(MqttLink.userProperty(big, "status")).isEqualTo("body_too_large");
        assertThat(new String(big.getPayload(), StandardCharsets.UTF_8))
            .contains("mass.sync.infer-max-bytes");
      } finally {
        caller.close();
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"embedded", "mosquitto"})
  void underTheDeviceAclOnlyTheCloudCallsADevicesModels(String brokerName) throws Exception {
    byte[] admin = Broker.password(Broker.ADMIN).getBytes(StandardCharsets.UTF_8);
    try (Broker broker = Broker.withDeviceAcl(brokerName, java.util.List.of("cam-a", "cam-b"));
        Bridge bridge = new Bridge(broker.url(), tmp, Broker.ADMIN, admin)) {
      Map<String, Object> props = SyncTest.agentProps(broker.url(), tmp, "cam-b", bridge, 1000);
      props.put("mass.sync.password", Broker.password("cam-b"));
      MqttLink cloud =
          new MqttLink(
                  new MqttLink.Options(broker.url(), "ops").withCredentials(Broker.ADMIN, admin))
              .start();
      MqttLink deviceA =
          new MqttLink(
                  new MqttLink.Options(broker.url(), "mass-agent-cam-a")
                      .withCredentials(
                          "cam-a", Broker.password("cam-a").getBytes(StandardCharsets.UTF_8)))
              .start();
      cloud.listenForResponses(Topics.inferReplies("ops"));
      deviceA.listenForResponses(Topics.inferReply("cam-a", "ops"));
      try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, props)) {
        await().atMost(Duration.ofSeconds(20)).until(() -> bridge.status.containsKey("cam-b"));
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> cloud.connected() && deviceA.connected());
        byte[] body = request().getBytes(StandardCharsets.UTF_8);

        // device A calling B's model: the broker refuses the request (Mosquitto: PUBACK 0x87;
        // HiveMQ drops A's connection, saying why), B never sees it
        var fromA =
            deviceA.request(
                Topics.inferRequest("cam-b", "face-short"),
                body,
                Topics.inferReply("cam-a", "ops"),
                Duration.ofSeconds(3));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> fromA.get(10, TimeUnit.SECONDS))
            .satisfies(
                e ->
                    assertThat(e.getCause())
                        .satisfiesAnyOf(
                            c -> assertThat(c).isInstanceOf(MqttLink.RefusedException.class),
                            c ->
                                assertThat(c)
                                    .isInstanceOf(MqttLink.NotConnectedException.class)
                                    .hasMessageContaining("Not authorized")))
            .hasMessageContaining("mass/v1/cam-b/infer/face-short");

        // the cloud calls B, and B answers into its own tree
        MqttMessage answer =
            cloud
                .request(
                    Topics.inferRequest("cam-b", "face-short"),
                    body,
                    Topics.inferReply("cam-b", "ops"),
                    Duration.ofSeconds(15))
                .get(20, TimeUnit.SECONDS);
        assertThat(MqttLink.userProperty(answer, "status")).isEqualTo("ok");
        assertThat(JSON.readTree(answer.getPayload()).path("outputs")).hasSize(4);
        // B served one request, the cloud's; A's never reached it
        assertThat(
                agent
                    .getApplicationContext()
                    .getBean(dev.massedge.agent.api.MqttInference.class)
                    .stats())
            .containsEntry("served", 1L)
            .containsEntry("refused", 0L);
      } finally {
        cloud.close();
        deviceA.close();
      }
    }
  }

  static MqttMessage call(MqttLink caller, String replies, String model, byte[] body)
      throws Exception {
    return caller
        .request(Topics.inferRequest("cam-oip", model), body, replies, Duration.ofSeconds(15))
        .get(20, TimeUnit.SECONDS);
  }
}
