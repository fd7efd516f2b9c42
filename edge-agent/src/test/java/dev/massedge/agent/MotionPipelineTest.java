package dev.massedge.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.massedge.inference.TestAssets;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A camera gated by motion in its own picture (gate-motion), on a real video: a person standing
 * still is not looked at until something moves; then the detector runs and finds the face; when the
 * picture is still again the gate closes after its hold and the face leaves.
 */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MotionPipelineTest implements TestPropertyProvider {
  @Inject EmbeddedServer server;

  @Override
  public Map<String, String> getProperties() {
    try {
      Path dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "motion");
      // 14 s at 10 frames/s: the astronaut, still; from 7 s to 9 s a white box moves down the
      // black bar on the left (about 1.5 % of the picture per frame); then still again
      Path video =
          TestAssets.ffmpeg(
              dir.resolve("porch.mp4"),
              "-loop",
              "1",
              "-i",
              TestAssets.media("astronaut.png").toString(),
              "-f",
              "lavfi",
              "-i",
              "color=white:size=60x60:rate=10",
              "-filter_complex",
              "[0:v]scale=480:480,pad=640:480:80:0,fps=10[bg];"
                  + "[bg][1:v]overlay=x=10:y='if(between(t,7,9),(t-7)*200,-100)':shortest=1",
              "-t",
              "14",
              "-pix_fmt",
              "yuv420p");
      Map<String, String> p = new HashMap<>();
      p.put("mass.pipelines.porch.kind", "camera");
      p.put("mass.pipelines.porch.input", video.toString());
      p.put("mass.pipelines.porch.fps", "10");
      p.put("mass.pipelines.porch.gate-motion", "true");
      p.put("mass.pipelines.porch.gate-hold-seconds", "1");
      // two gates at once, and a motion area that would count every light switched on as motion
      p.put("mass.pipelines.both.kind", "camera");
      p.put("mass.pipelines.both.input", video.toString());
      p.put("mass.pipelines.both.gate-motion", "true");
      p.put("mass.pipelines.both.gate-sensor", "door");
      p.put("mass.pipelines.wide.kind", "camera");
      p.put("mass.pipelines.wide.input", video.toString());
      p.put("mass.pipelines.wide.gate-motion", "true");
      p.put("mass.pipelines.wide.motion-area", "0.95");
      return p;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void motionOpensTheCameraAndStillnessClosesIt() {
    AgentClient client = new AgentClient(server.getURI());
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> PipelinesTest.pipeline(client, "porch").get("frames_gated").asLong() > 5);
    JsonNode still = PipelinesTest.pipeline(client, "porch");
    assertThat(still.get("frames_processed").asLong()).as("%s", still).isZero();
    assertThat(still.get("motion_frames").asLong()).isZero();
    assertThat(still.get("faces_in_view").asInt()).isZero();

    // the box moves: the detector runs and finds the face that was there all along
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> PipelinesTest.pipeline(client, "porch").get("faces_in_view").asInt() == 1);
    JsonNode moving = PipelinesTest.pipeline(client, "porch");
    assertThat(moving.get("motion_frames").asLong()).isPositive();
    assertThat(moving.get("lighting_changes").asLong()).isZero();

    // still again: after the hold the gate closes and the face leaves
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> PipelinesTest.pipeline(client, "porch").get("faces_in_view").asInt() == 0);
    JsonNode after = PipelinesTest.pipeline(client, "porch");
    assertThat(after.get("gate_open").asBoolean()).as("%s", after).isFalse();
    long gatedAfter = after.get("frames_gated").asLong();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                PipelinesTest.pipeline(client, "porch").get("frames_gated").asLong() > gatedAfter);
    JsonNode end = PipelinesTest.pipeline(client, "porch");
    // the motion lasted 2 s (+ the 1 s hold) of 14: most frames never reached the detector
    assertThat(end.get("frames_processed").asLong())
        .as("%s", end)
        .isBetween(10L, end.get("frames_gated").asLong());
  }

  @Test
  void badGateSettingsStopOnlyTheirPipelineWithAClearError() {
    AgentClient client = new AgentClient(server.getURI());
    JsonNode both = PipelinesTest.pipeline(client, "both");
    assertThat(both.get("state").asText()).isEqualTo("failed");
    assertThat(both.get("error").asText())
        .contains("mass.pipelines.both")
        .contains("gate-pin, gate-sensor and gate-motion are exclusive");
    JsonNode wide = PipelinesTest.pipeline(client, "wide");
    assertThat(wide.get("state").asText()).isEqualTo("failed");
    assertThat(wide.get("error").asText())
        .contains("mass.pipelines.wide")
        .contains("motion area must be a fraction of the picture above 0 and below 0.9, got 0.95");
    assertThat(client.get("/v2/health/ready").status()).isEqualTo(200);
  }
}
