package dev.massedge.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.massedge.inference.TestAssets;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Pipelines from configuration, on real media: a camera playing 5 s of a face then 5 s of a test
 * pattern, a microphone playing two sentences, and two pipelines that cannot start.
 */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PipelinesTest implements TestPropertyProvider {
  @Inject EmbeddedServer server;
  @Inject dev.massedge.agent.models.ModelRegistry registry;

  @Override
  public Map<String, String> getProperties() {
    try {
      Path dir =
          Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "pipelines");
      Path video = TestAssets.faceThenPattern(dir, 5, 5);
      Path floatWav =
          TestAssets.ffmpeg(
              dir.resolve("f32.wav"),
              "-i",
              TestAssets.media("stop_16k.wav").toString(),
              "-c:a",
              "pcm_f32le");
      Map<String, String> p = new HashMap<>();
      p.put("mass.pipelines.door.kind", "camera");
      p.put("mass.pipelines.door.source", "ffmpeg");
      p.put("mass.pipelines.door.input", video.toString());
      p.put("mass.pipelines.door.fps", "10");
      p.put("mass.pipelines.door.threads", "1");
      p.put("mass.pipelines.door.snapshot-dir", dir.resolve("snapshots").toString());
      p.put("mass.pipelines.kiosk.utterance-dir", dir.resolve("utterances").toString());
      p.put("mass.pipelines.door-small.kind", "camera");
      p.put("mass.pipelines.door-small.input", video.toString());
      p.put("mass.pipelines.door-small.fps", "10");
      p.put("mass.pipelines.door-small.detect-width", "320");
      p.put("mass.pipelines.door-small.detect-height", "240");
      p.put("mass.pipelines.kiosk.kind", "voice");
      p.put("mass.pipelines.kiosk.source", "wav");
      p.put("mass.pipelines.kiosk.input", TestAssets.media("vad_test_16k.wav").toString());
      p.put("mass.pipelines.jarvis.kind", "voice");
      p.put("mass.pipelines.jarvis.source", "wav");
      p.put(
          "mass.pipelines.jarvis.input",
          TestAssets.media("hey_jarvis_pinknoise_16k.wav").toString());
      p.put(
          "mass.pipelines.jarvis.wake-word-dir",
          TestAssets.models().resolve("demo-only/openwakeword").toString());
      p.put("mass.pipelines.jarvis.wake-words", "hey_jarvis_v0.1");
      p.put(
          "mass.pipelines.kiosk.wake-word-dir",
          TestAssets.models().resolve("demo-only/openwakeword").toString());
      p.put("mass.pipelines.kiosk.wake-words", "hey_jarvis_v0.1");
      p.put("mass.pipelines.webcam.kind", "camera");
      p.put("mass.pipelines.webcam.source", "webcam");
      p.put("mass.pipelines.webcam.input", "/dev/video0");
      p.put("mass.pipelines.floaty.kind", "voice");
      p.put("mass.pipelines.floaty.source", "wav");
      p.put("mass.pipelines.floaty.input", floatWav.toString());
      return p;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void aFaceThatStaysFiveSecondsIsOneEnterAndOneLeaveAtTheCut() throws Exception {
    AgentClient client = new AgentClient(server.getURI());
    // server-sent events, as a browser or Home Assistant would read them
    List<String> sse = new ArrayList<>();
    HttpClient http = HttpClient.newHttpClient();
    CompletableFuture<Void> reader =
        http.sendAsync(
                HttpRequest.newBuilder(URI.create(server.getURI() + "/v1/events")).build(),
                HttpResponse.BodyHandlers.ofInputStream())
            .thenAccept(
                r -> {
                  try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body()))) {
                    String line;
                    while ((line = in.readLine()) != null) {
                      synchronized (sse) {
                        sse.add(line);
                      }
                      if (line.contains("face_left")) {
                        return;
                      }
                    }
                  } catch (java.io.IOException ignored) {
                    // closed
                  }
                });

    await()
        .atMost(Duration.ofSeconds(40))
        .until(() -> pipeline(client, "door").get("state").asText().equals("ended"));
    reader.get(10, TimeUnit.SECONDS);

    List<JsonNode> events = events(client, e -> e.get("pipeline").asText().equals("door"));
    List<JsonNode> entered =
        events.stream().filter(e -> e.has("face") && !e.has("presentSeconds")).toList();
    List<JsonNode> left = events.stream().filter(e -> e.has("presentSeconds")).toList();
    assertThat(entered).hasSize(1);
    assertThat(left).hasSize(1);
    assertThat(entered.get(0).get("streamSeconds").asDouble()).isCloseTo(0.0, within(0.5));
    // the snapshot: the whole frame, with the face's box drawn
    Path snapshot = Path.of(entered.get(0).get("snapshot").asText());
    java.awt.image.BufferedImage jpg = javax.imageio.ImageIO.read(snapshot.toFile());
    assertThat(jpg.getWidth()).isEqualTo(640);
    JsonNode box = entered.get(0).get("face");
    int edgeX = (int) box.get("x").asDouble();
    int midY = (int) (box.get("y").asDouble() + box.get("height").asDouble() / 2);
    int green = (jpg.getRGB(edgeX, midY) >> 8) & 0xff;
    int red = (jpg.getRGB(edgeX, midY) >> 16) & 0xff;
    assertThat(green).isGreaterThan(red + 80);
    assertThat(left.get(0).get("streamSeconds").asDouble()).isCloseTo(5.0, within(0.5));
    synchronized (sse) {
      assertThat(sse).contains("event: face_left");
    }

    JsonNode door = pipeline(client, "door");
    long captured = door.get("frames_captured").asLong();
    long processed = door.get("frames_processed").asLong();
    assertThat(captured).isBetween(95L, 102L); // 10 s at 10 fps
    assertThat(processed + door.get("frames_dropped").asLong()).isEqualTo(captured);
    assertThat(door.get("source_restarts").asInt()).isZero();
    // the pipeline's inferences count for the model version (health window, rollout gates)
    var stats = registry.stats("face-short", "1");
    assertThat(stats.calls.get()).isGreaterThanOrEqualTo(processed);
    assertThat(stats.latency.count()).isGreaterThanOrEqualTo(processed);
    assertThat(stats.errors.get()).isZero();
  }

  @Test
  void aSmallerDetectResolutionStillGivesBoxesInTheCamerasPixels() {
    AgentClient client = new AgentClient(server.getURI());
    await()
        .atMost(Duration.ofSeconds(40))
        .until(() -> pipeline(client, "door-small").get("state").asText().equals("ended"));
    JsonNode full = null;
    JsonNode small = null;
    for (JsonNode e : events(client, e -> true)) {
      if (e.get("type").asText().equals("face_entered")) {
        if (e.get("pipeline").asText().equals("door")) {
          full = e.get("face");
        } else if (e.get("pipeline").asText().equals("door-small")) {
          small = e.get("face");
        }
      }
    }
    assertThat(full).isNotNull();
    assertThat(small).isNotNull();
    assertThat(box(small).iou(box(full))).isGreaterThanOrEqualTo(0.8f);
    assertThat(small.get("x").asDouble()).isGreaterThan(160); // not in 320x240 coordinates
  }

  static dev.massedge.inference.face.Face box(JsonNode f) {
    return new dev.massedge.inference.face.Face(
        (float) f.get("x").asDouble(),
        (float) f.get("y").asDouble(),
        (float) f.get("width").asDouble(),
        (float) f.get("height").asDouble(),
        (float) f.get("score").asDouble(),
        List.of());
  }

  @Test
  void twoSentencesAreTwoUtterances() {
    AgentClient client = new AgentClient(server.getURI());
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> pipeline(client, "kiosk").get("state").asText().equals("ended"));
    List<JsonNode> utterances =
        events(
            client,
            e ->
                e.get("pipeline").asText().equals("kiosk")
                    && e.get("type").asText().equals("utterance"));
    assertThat(utterances).hasSize(2);
    assertThat(utterances.get(0).get("startSeconds").asDouble()).isCloseTo(1.01, within(0.1));
    assertThat(utterances.get(1).get("streamSeconds").asDouble()).isCloseTo(6.53, within(0.1));
    // each utterance's audio, as a WAV of the segment's length
    for (JsonNode u : utterances) {
      Path wav = Path.of(u.get("audio").asText());
      var pcm = dev.massedge.inference.audio.WavDecoder.decode(readAll(wav));
      double expected =
          (u.get("streamSeconds").asDouble() - u.get("startSeconds").asDouble()) * 1000;
      assertThat(pcm.durationMs()).isCloseTo(expected, within(50.0));
    }
  }

  @Test
  void heyJarvisWakesTheKioskOnceAndSentencesDoNot() {
    AgentClient client = new AgentClient(server.getURI());
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> pipeline(client, "jarvis").get("state").asText().equals("ended"));
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> pipeline(client, "kiosk").get("state").asText().equals("ended"));
    List<JsonNode> wakes = events(client, e -> e.has("word"));
    assertThat(wakes).hasSize(1);
    assertThat(wakes.get(0).get("pipeline").asText()).isEqualTo("jarvis");
    assertThat(wakes.get(0).get("word").asText()).isEqualTo("hey_jarvis_v0.1");
    // the word ends at 1.46 s in the recording
    assertThat(wakes.get(0).get("streamSeconds").asDouble()).isBetween(1.26, 1.76);
    assertThat(pipeline(client, "kiosk").get("wake_words").asInt()).isZero();
    // the speech that held the wake word is the wake phrase, not a request
    List<String> triggers =
        events(client, e -> e.get("pipeline").asText().equals("jarvis") && e.has("trigger"))
            .stream()
            .map(e -> e.get("trigger").asText())
            .toList();
    assertThat(triggers).containsExactly("wake_phrase");
  }

  @Test
  void pipelinesThatCannotStartSayWhyAndTheOthersRun() {
    AgentClient client = new AgentClient(server.getURI());
    JsonNode webcam = pipeline(client, "webcam");
    assertThat(webcam.get("state").asText()).isEqualTo("failed");
    assertThat(webcam.get("error").asText())
        .contains("mass.pipelines.webcam.source")
        .contains("ffmpeg");
    JsonNode floaty = pipeline(client, "floaty");
    assertThat(floaty.get("error").asText()).contains("expected 16-bit PCM");
    assertThat(client.get("/v2/health/ready").status()).isEqualTo(200);
  }

  /** The agent's recent events that match. */
  static List<JsonNode> events(AgentClient client, java.util.function.Predicate<JsonNode> which) {
    List<JsonNode> out = new ArrayList<>();
    client
        .get("/v1/events/recent")
        .json()
        .forEach(
            e -> {
              if (which.test(e)) {
                out.add(e);
              }
            });
    return out;
  }

  static byte[] readAll(Path p) {
    try {
      return Files.readAllBytes(p);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static JsonNode pipeline(AgentClient client, String name) {
    for (JsonNode p : client.get("/v1/pipelines").json()) {
      if (p.get("name").asText().equals(name)) {
        return p;
      }
    }
    throw new AssertionError("no pipeline " + name);
  }
}
