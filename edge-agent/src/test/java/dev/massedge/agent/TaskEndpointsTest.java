package dev.massedge.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.massedge.inference.TestAssets;
import dev.massedge.inference.face.Face;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@MicronautTest
class TaskEndpointsTest {
  @Inject EmbeddedServer server;
  AgentClient client;

  @BeforeEach
  void client() {
    client = new AgentClient(server.getURI());
  }

  static Face face(JsonNode f) {
    JsonNode b = f.get("box");
    return new Face(
        b.get("x").floatValue(),
        b.get("y").floatValue(),
        b.get("width").floatValue(),
        b.get("height").floatValue(),
        f.get("score").floatValue(),
        List.of());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "?model=face-short-tflite", "?model=face-long"})
  void astronautGivesOneFaceInImagePixels(String query) {
    var r = client.post("/v1/faces" + query, TestAssets.mediaBytes("astronaut.png"), "image/png");

    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.json().get("width").asInt()).isEqualTo(512);
    JsonNode faces = r.json().get("faces");
    assertThat(faces).hasSize(1);
    assertThat(face(faces.get(0)).iou(179, 82, 93, 93)).isGreaterThanOrEqualTo(0.7f);
    assertThat(faces.get(0).get("keypoints")).hasSize(6);
  }

  @Test
  void jpegWorksToo(@TempDir Path tmp) throws Exception {
    Path jpg =
        TestAssets.ffmpeg(tmp.resolve("cam.jpg"), "-i", TestAssets.media("camera.png").toString());
    var r = client.post("/v1/faces", Files.readAllBytes(jpg), "image/jpeg");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().get("faces")).hasSize(1);
  }

  @Test
  void noFaceInATestPattern(@TempDir Path tmp) throws Exception {
    var r = client.post("/v1/faces", Files.readAllBytes(TestAssets.testsrcPng(tmp)), "image/png");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().get("faces")).isEmpty();
  }

  @Test
  void vadFindsTheTwoSentences() {
    var r = client.post("/v1/vad", TestAssets.mediaBytes("vad_test_16k.wav"), "audio/wav");
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    JsonNode segs = r.json().get("segments");
    assertThat(segs).hasSize(2);
    assertThat(segs.get(0).get("startMs").asDouble()).isCloseTo(1010, within(100.0));
    assertThat(segs.get(0).get("endMs").asDouble()).isCloseTo(4050, within(100.0));
    assertThat(segs.get(1).get("startMs").asDouble()).isCloseTo(4490, within(100.0));
    assertThat(segs.get(1).get("endMs").asDouble()).isCloseTo(6530, within(100.0));
  }

  @ParameterizedTest
  @ValueSource(strings = {"silence3s.wav", "pinknoise3s.wav"})
  void vadFindsNothingInSilenceOrNoise(String file) {
    var r = client.post("/v1/vad", TestAssets.mediaBytes(file), "audio/wav");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().get("segments")).isEmpty();
  }
}
