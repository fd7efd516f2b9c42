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
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A multimodal trigger on real media, both sources in real time: a camera whose picture has a face
 * from 2 s to 6 s, and a kiosk microphone with silence, then a sentence at 3 s, then silence. The
 * face opens one voice session (no wake word), the sentence is captured as a request in it, and the
 * session closes after the face has left plus the grace time.
 */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MultimodalTest implements TestPropertyProvider {
  @Inject EmbeddedServer server;

  @Override
  public Map<String, String> getProperties() {
    try {
      Path dir =
          Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "multimodal");
      Path video =
          TestAssets.ffmpeg(
              dir.resolve("kiosk-cam.mp4"),
              "-f",
              "lavfi",
              "-i",
              "color=c=0x5a6470:s=640x480:r=10:d=10",
              "-loop",
              "1",
              "-i",
              TestAssets.media("astronaut.png").toString(),
              "-filter_complex",
              "[1:v]scale=420:420[f];[0:v][f]overlay=40:30:enable='between(t,2,6)',format=yuv420p",
              "-t",
              "10",
              "-r",
              "10");
      Path audio =
          TestAssets.ffmpeg(
              dir.resolve("kiosk-mic.wav"),
              "-f",
              "lavfi",
              "-i",
              "anullsrc=r=16000:cl=mono",
              "-i",
              TestAssets.media("weather_16k.wav").toString(),
              "-filter_complex",
              "[0:a]atrim=0:3[s];[1:a]aresample=16000[w];[0:a]atrim=0:6[t];[s][w][t]concat=n=3:v=0:a=1",
              "-ar",
              "16000",
              "-ac",
              "1");
      Map<String, String> p = new HashMap<>();
      p.put("mass.pipelines.kiosk-cam.kind", "camera");
      p.put("mass.pipelines.kiosk-cam.source", "ffmpeg");
      p.put("mass.pipelines.kiosk-cam.input", video.toString());
      p.put("mass.pipelines.kiosk-cam.input-options", "-re");
      p.put("mass.pipelines.kiosk-cam.fps", "5");
      p.put("mass.pipelines.kiosk.kind", "voice");
      p.put("mass.pipelines.kiosk.source", "ffmpeg");
      p.put("mass.pipelines.kiosk.input", audio.toString());
      p.put("mass.pipelines.kiosk.input-options", "-re");
      p.put(
          "mass.pipelines.kiosk.wake-word-dir",
          TestAssets.models().resolve("demo-only/openwakeword").toString());
      p.put("mass.pipelines.kiosk.wake-words", "hey_jarvis_v0.1");
      p.put("mass.pipelines.kiosk.session-from", "kiosk-cam");
      p.put("mass.pipelines.kiosk.session-grace-seconds", "1");
      // a wake word takes a snapshot: "hey jarvis" on the porch microphone, a face at the porch
      p.put("mass.pipelines.porch-cam.kind", "camera");
      p.put("mass.pipelines.porch-cam.source", "ffmpeg");
      p.put("mass.pipelines.porch-cam.input", TestAssets.media("astronaut.png").toString());
      p.put("mass.pipelines.porch-cam.input-options", "-re,-loop,1,-t,8");
      p.put("mass.pipelines.porch-cam.fps", "5");
      p.put("mass.pipelines.porch-cam.snapshot-dir", dir.resolve("snapshots").toString());
      p.put("mass.pipelines.porch-cam.snapshot-on", "porch-mic");
      p.put("mass.pipelines.porch-mic.kind", "voice");
      p.put("mass.pipelines.porch-mic.source", "ffmpeg");
      p.put("mass.pipelines.porch-mic.input", TestAssets.media("hey_jarvis_16k.wav").toString());
      p.put("mass.pipelines.porch-mic.input-options", "-re");
      p.put(
          "mass.pipelines.porch-mic.wake-word-dir",
          TestAssets.models().resolve("demo-only/openwakeword").toString());
      p.put("mass.pipelines.porch-mic.wake-words", "hey_jarvis_v0.1");
      p.put("mass.pipelines.lost.kind", "voice");
      p.put("mass.pipelines.lost.source", "wav");
      p.put("mass.pipelines.lost.input", audio.toString());
      p.put("mass.pipelines.lost.session-from", "no-such-camera");
      return p;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void aFaceOpensOneVoiceSessionWithoutTheWakeWordAndItsLeavingClosesIt() {
    AgentClient client = new AgentClient(server.getURI());
    await()
        .atMost(Duration.ofSeconds(40))
        .until(
            () ->
                PipelinesTest.pipeline(client, "kiosk").get("state").asText().equals("ended")
                    && PipelinesTest.pipeline(client, "kiosk-cam")
                        .get("state")
                        .asText()
                        .equals("ended"));
    // the grace time after the face left
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> !PipelinesTest.pipeline(client, "kiosk").get("session_open").asBoolean());
    List<JsonNode> all = PipelinesTest.events(client, e -> true);
    List<JsonNode> opened = of(ofType(all, "voice_session_opened"), "kiosk");
    List<JsonNode> closed = of(ofType(all, "voice_session_closed"), "kiosk");
    List<JsonNode> entered = of(ofType(all, "face_entered"), "kiosk-cam");
    List<JsonNode> left = of(ofType(all, "face_left"), "kiosk-cam");
    assertThat(entered).hasSize(1);
    assertThat(left).hasSize(1);
    assertThat(opened).as(all.toString()).hasSize(1);
    assertThat(closed).hasSize(1);
    assertThat(opened.get(0).path("by").asText()).isEqualTo("face:kiosk-cam");
    // opened by the face entering (before it left), closed no sooner than the grace time after
    // it left (bounds on order, not on speed: the machine may be busy)
    long enteredAt = entered.get(0).path("epochMillis").asLong();
    long leftAt = left.get(0).path("epochMillis").asLong();
    assertThat(opened.get(0).path("epochMillis").asLong()).isBetween(enteredAt, leftAt);
    assertThat(closed.get(0).path("epochMillis").asLong()).isGreaterThanOrEqualTo(leftAt + 990);
    // the sentence is a request of that session: no wake word was heard or needed
    assertThat(of(ofType(all, "wake_word"), "kiosk")).isEmpty();
    List<JsonNode> utterances = of(ofType(all, "utterance"), "kiosk");
    assertThat(utterances).isNotEmpty();
    assertThat(utterances).allMatch(u -> u.path("trigger").asText().equals("session"));
    JsonNode kiosk = PipelinesTest.pipeline(client, "kiosk");
    assertThat(kiosk.path("sessions_from").asText()).isEqualTo("kiosk-cam");
    assertThat(kiosk.path("sessions").asInt()).isEqualTo(1);
    // a trigger naming a pipeline that does not exist is a configuration error, said as such
    assertThat(client.get("/v1/pipelines").body())
        .contains("session-from: there is no camera pipeline 'no-such-camera'");
  }

  @Test
  void aWakeWordTakesASnapshotFromTheCameraThatListensForIt() throws Exception {
    AgentClient client = new AgentClient(server.getURI());
    await()
        .atMost(Duration.ofSeconds(40))
        .until(
            () ->
                PipelinesTest.pipeline(client, "porch-mic").get("state").asText().equals("ended")
                    && !of(ofType(PipelinesTest.events(client, e -> true), "snapshot"), "porch-cam")
                        .isEmpty());
    List<JsonNode> all = PipelinesTest.events(client, e -> true);
    assertThat(of(ofType(all, "wake_word"), "porch-mic")).hasSize(1);
    List<JsonNode> snaps = of(ofType(all, "snapshot"), "porch-cam");
    assertThat(snaps).hasSize(1);
    assertThat(snaps.get(0).path("reason").asText()).isEqualTo("wake_word:porch-mic");
    assertThat(snaps.get(0).path("faces").asInt()).isEqualTo(1);
    Path jpg = Path.of(snaps.get(0).path("path").asText());
    assertThat(jpg).exists();
    assertThat(javax.imageio.ImageIO.read(jpg.toFile()).getWidth()).isEqualTo(640);
    JsonNode cam = PipelinesTest.pipeline(client, "porch-cam");
    assertThat(cam.path("snapshot_on").asText()).isEqualTo("porch-mic");
    assertThat(cam.path("snapshots").asInt()).isEqualTo(1);
  }

  static List<JsonNode> of(List<JsonNode> events, String pipeline) {
    return events.stream().filter(e -> e.path("pipeline").asText().equals(pipeline)).toList();
  }

  static List<JsonNode> ofType(List<JsonNode> events, String type) {
    return events.stream().filter(e -> e.path("type").asText().equals(type)).toList();
  }
}
