package dev.massedge.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import dev.massedge.agent.api.CoapService;
import dev.massedge.inference.TestAssets;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.californium.core.CoapClient;
import org.eclipse.californium.core.CoapHandler;
import org.eclipse.californium.core.CoapResponse;
import org.eclipse.californium.core.coap.CoAP.ResponseCode;
import org.eclipse.californium.core.coap.MediaTypeRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** A door sensor opening a camera over CoAP, its observed state, and inference over CoAP. */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CoapAgentTest implements TestPropertyProvider {
  @Inject EmbeddedServer server;
  @Inject CoapService coap;
  static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public Map<String, String> getProperties() {
    try {
      Path dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "coap");
      Path face =
          TestAssets.ffmpeg(
              dir.resolve("face.mp4"),
              "-loop",
              "1",
              "-i",
              TestAssets.media("astronaut.png").toString(),
              "-t",
              "30",
              "-r",
              "10",
              "-pix_fmt",
              "yuv420p");
      Map<String, String> p = new HashMap<>();
      p.put("mass.pipelines.porch.kind", "camera");
      p.put("mass.pipelines.porch.input", face.toString());
      p.put("mass.pipelines.porch.fps", "10");
      p.put("mass.pipelines.porch.gate-sensor", "door");
      p.put("mass.pipelines.porch.gate-hold-seconds", "2");
      return p;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  String base() {
    return "coap://127.0.0.1:" + coap.port();
  }

  @Test
  void aDoorSensorOpensTheCameraAndTheStateIsObserved() throws Exception {
    AgentClient client = new AgentClient(server.getURI());
    List<String> states = new CopyOnWriteArrayList<>();
    CoapClient obs = new CoapClient(base() + "/pipelines/porch/state");
    // the resource appears with the pipeline's first state change; observe once it is there
    CoapClient door = new CoapClient(base() + "/sensors/door");
    assertThat(PipelinesTest.pipeline(client, "porch").get("frames_processed").asLong()).isZero();
    assertThat(door.post("open", MediaTypeRegistry.TEXT_PLAIN).getCode())
        .isEqualTo(ResponseCode.CHANGED);
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> obs.get() != null && obs.get().getCode() == ResponseCode.CONTENT);
    var relation =
        obs.observe(
            new CoapHandler() {
              @Override
              public void onLoad(CoapResponse r) {
                states.add(r.getResponseText());
              }

              @Override
              public void onError() {}
            });
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> states.stream().anyMatch(s -> s.contains("\"faces\":1")));
    assertThat(door.post("closed", MediaTypeRegistry.TEXT_PLAIN).getCode())
        .isEqualTo(ResponseCode.CHANGED);
    // after the hold the camera idles and the face leaves: observers see it
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> states.stream().anyMatch(s -> s.contains("\"faces\":0")));
    relation.proactiveCancel();
  }

  @Test
  void inferenceOverCoapInJsonAndCbor() throws Exception {
    Map<String, Object> request =
        Map.of(
            "inputs",
            List.of(
                Map.of(
                    "name",
                    "input",
                    "datatype",
                    "FP32",
                    "shape",
                    new long[] {1, 576},
                    "data",
                    new float[576]),
                Map.of(
                    "name",
                    "state",
                    "datatype",
                    "FP32",
                    "shape",
                    new long[] {2, 1, 128},
                    "data",
                    new float[256]),
                Map.of(
                    "name",
                    "sr",
                    "datatype",
                    "INT64",
                    "shape",
                    new long[] {},
                    "data",
                    new long[] {16000})));
    CoapClient c = new CoapClient(base() + "/infer/vad");
    CoapResponse j = c.post(JSON.writeValueAsBytes(request), MediaTypeRegistry.APPLICATION_JSON);
    assertThat(j.getCode()).isEqualTo(ResponseCode.CONTENT);
    JsonNode fromJson = JSON.readTree(j.getPayload());
    assertThat(fromJson.get("model_name").asText()).isEqualTo("vad");

    ObjectMapper cbor = new ObjectMapper(new CBORFactory());
    CoapResponse b = c.post(cbor.writeValueAsBytes(request), MediaTypeRegistry.APPLICATION_CBOR);
    assertThat(b.getCode()).isEqualTo(ResponseCode.CONTENT);
    assertThat(b.getOptions().getContentFormat()).isEqualTo(MediaTypeRegistry.APPLICATION_CBOR);
    JsonNode fromCbor = cbor.readTree(b.getPayload());
    assertThat(fromCbor.get("outputs").toString()).isEqualTo(fromJson.get("outputs").toString());

    c.setURI(base() + "/infer/no-such-model");
    CoapResponse missing = c.post("{\"inputs\":[]}", MediaTypeRegistry.APPLICATION_JSON);
    assertThat(missing.getCode()).isEqualTo(ResponseCode.NOT_FOUND);
    assertThat(missing.getResponseText()).contains("model_not_found");
    c.setURI(base() + "/infer/vad");
    CoapResponse broken = c.post("{\"inputs\": [", MediaTypeRegistry.APPLICATION_JSON);
    assertThat(broken.getCode()).isEqualTo(ResponseCode.BAD_REQUEST);
    assertThat(broken.getResponseText()).contains("invalid_json");
  }
}
