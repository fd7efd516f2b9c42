package dev.massedge.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.massedge.agent.pipeline.GpioService;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** A PIR gating a camera, an LED following faces, a push-to-talk button: Pi4J's mock platform. */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GpioPipelinesTest implements TestPropertyProvider {
  @Inject EmbeddedServer server;
  @Inject GpioService gpio;

  @Override
  public Map<String, String> getProperties() {
    try {
      Path dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "gpio");
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
              "-vf",
              "scale=480:480,pad=640:480:80:0",
              "-pix_fmt",
              "yuv420p");
      Map<String, String> p = new HashMap<>();
      p.put("mass.gpio.provider", "mock");
      p.put("mass.pipelines.hall.kind", "camera");
      p.put("mass.pipelines.hall.input", face.toString());
      p.put("mass.pipelines.hall.fps", "10");
      p.put("mass.pipelines.hall.gate-pin", "17");
      p.put("mass.pipelines.hall.gate-hold-seconds", "1");
      p.put("mass.pipelines.hall.led-pin", "22");
      p.put("mass.pipelines.desk.kind", "voice");
      p.put("mass.pipelines.desk.source", "ffmpeg");
      p.put("mass.pipelines.desk.input-options", "-re");
      p.put("mass.pipelines.desk.input", TestAssets.media("vad_test_16k.wav").toString());
      p.put("mass.pipelines.desk.button-pin", "27");
      return p;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void pirOpensTheCameraAndTheLedFollowsTheFace() {
    AgentClient client = new AgentClient(server.getURI());
    // no motion yet: frames arrive and are not analysed
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> PipelinesTest.pipeline(client, "hall").get("frames_gated").asLong() > 5);
    assertThat(PipelinesTest.pipeline(client, "hall").get("frames_processed").asLong()).isZero();
    assertThat(gpio.led("hall-led").lit()).isFalse();

    gpio.sensor("hall-pir").simulate(true);
    await().atMost(Duration.ofSeconds(10)).until(() -> gpio.led("hall-led").lit());
    assertThat(PipelinesTest.pipeline(client, "hall").get("frames_processed").asLong())
        .isPositive();

    gpio.sensor("hall-pir").simulate(false);
    // after the 1 s hold the camera idles again and the face has left
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> !PipelinesTest.pipeline(client, "hall").get("gate_open").asBoolean());
    await().atMost(Duration.ofSeconds(5)).until(() -> !gpio.led("hall-led").lit());
    long processed = PipelinesTest.pipeline(client, "hall").get("frames_processed").asLong();
    // and stays idle: nothing more is analysed for a second
    await()
        .during(Duration.ofSeconds(1))
        .atMost(Duration.ofSeconds(3))
        .until(
            () ->
                PipelinesTest.pipeline(client, "hall").get("frames_processed").asLong()
                    == processed);
  }

  @Test
  void theButtonCapturesTheNextUtteranceWithoutAWakeWord() {
    AgentClient client = new AgentClient(server.getURI());
    gpio.button("desk-button").simulatePress();
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> PipelinesTest.pipeline(client, "desk").get("state").asText().equals("ended"));
    List<JsonNode> utterances =
        PipelinesTest.events(
            client, e -> e.get("pipeline").asText().equals("desk") && e.has("trigger"));
    assertThat(utterances).hasSize(2);
    assertThat(utterances.get(0).get("trigger").asText()).isEqualTo("button");
    assertThat(utterances.get(1).get("trigger").asText()).isEqualTo("vad");
  }
}
