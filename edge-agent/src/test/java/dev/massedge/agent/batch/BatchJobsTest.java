package dev.massedge.agent.batch;

import static dev.massedge.agent.AgentClient.input;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.agent.AgentClient;
import dev.massedge.inference.TestAssets;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /v1/batch} jobs on a running agent: a video, a JSONL of tensors and pictures in one
 * job (the same tensors as {@code /v2/models/vad/infer}, the video's face leaving at its cut, a
 * broken video and broken lines reported), refusals, and a cancelled job resumed by a second one.
 */
class BatchJobsTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir static Path tmp;
  static EmbeddedServer agent;
  static AgentClient client;
  static Path root;

  @BeforeAll
  static void start() {
    root = tmp.resolve("batch");
    Map<String, Object> props = new HashMap<>();
    props.put("micronaut.server.port", -1);
    props.put("mass.agent.models-dir", TestAssets.models().toString());
    props.put("mass.coap.enabled", false);
    props.put("mass.batch.dir", root.toString());
    props.put("mass.batch.workers", 2);
    agent = ApplicationContext.run(EmbeddedServer.class, props);
    client = new AgentClient(agent.getURI());
  }

  @AfterAll
  static void stop() {
    agent.close();
  }

  static JsonNode awaitEnd(String id) {
    JsonNode[] last = new JsonNode[1];
    await()
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              last[0] = client.get("/v1/batch/" + id).json();
              return !List.of("queued", "running").contains(last[0].path("state").asText());
            });
    return last[0];
  }

  static Map<String, JsonNode> results(String id) throws Exception {
    var r = client.get("/v1/batch/" + id + "/results");
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    Map<String, JsonNode> m = new LinkedHashMap<>();
    for (String line : r.body().split("\n")) {
      JsonNode n = JSON.readTree(line);
      assertThat(m.put(n.path("input").asText(), n)).as("done twice: " + line).isNull();
    }
    return m;
  }

  @Test
  void aVideoATensorFileAndPicturesInOneJob() throws Exception {
    Path in = Files.createDirectories(root.resolve("mixed"));
    Path door = TestAssets.faceThenPattern(tmp.resolve("video"), 3, 3);
    Files.copy(door, in.resolve("door.mp4"));
    Files.write(in.resolve("cut.mp4"), java.util.Arrays.copyOf(Files.readAllBytes(door), 3000));
    Files.copy(TestAssets.media("astronaut.png"), in.resolve("astronaut.png"));

    Random rnd = new Random(7);
    float[] audio = new float[576];
    for (int i = 0; i < audio.length; i++) {
      audio[i] = (float) rnd.nextGaussian() * 0.3f;
    }
    Map<String, Object> request =
        Map.of(
            "inputs",
            List.of(
                input("input", "FP32", new long[] {1, 576}, audio),
                input("state", "FP32", new long[] {2, 1, 128}, new float[256]),
                input("sr", "INT64", new long[] {}, new long[] {16000})));
    Map<String, Object> withModel = new LinkedHashMap<>(request);
    withModel.put("model", "vad");
    Files.write(
        in.resolve("tensors.jsonl"),
        List.of(
            JSON.writeValueAsString(withModel),
            "{\"model\": \"no-such-model\", \"inputs\": []}",
            "{\"model\": \"vad\", \"inputs\": [{\"name\": \"input\", \"shape\": [1, 2],"
                + " \"datatype\": \"FP32\", \"data\": [0, 0]}]}",
            "this is not json"));

    var submitted =
        client.postJson(
            "/v1/batch", Map.of("input", "mixed", "fps", 5, "annotate", true, "workers", 2));
    assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
    String id = submitted.json().path("id").asText();
    JsonNode end = awaitEnd(id);
    assertThat(end.path("state").asText()).as(end.toString()).isEqualTo("done");
    // 30 frames + the video's line, a broken video, a picture, 4 tensor lines
    assertThat(end.path("progress").path("processed").asInt()).as(end.toString()).isEqualTo(37);
    assertThat(end.path("progress").path("errors").asInt()).as(end.toString()).isEqualTo(4);
    assertThat(client.get("/v1/batch").json()).anyMatch(j -> j.path("id").asText().equals(id));

    Map<String, JsonNode> got = results(id);
    assertThat(got.get("door.mp4").path("result").path("frames").asInt()).isEqualTo(30);
    for (int f = 0; f < 30; f++) {
      JsonNode line = got.get("door.mp4#frame=" + f);
      double t = line.path("t").asDouble();
      assertThat(t).isEqualTo(f / 5.0, org.assertj.core.data.Offset.offset(1e-6));
      if (Math.abs(t - 3.0) > 0.5) { // the face is there for 3 s, then the test pattern
        assertThat(line.path("result").path("faces").size())
            .as(line.toString())
            .isEqualTo(t < 3 ? 1 : 0);
      }
      assertThat(line.path("result").path("width").asInt()).isEqualTo(640);
    }
    assertThat(got.get("cut.mp4").path("error").path("code").asText()).isEqualTo("undecodable");

    var online = client.postJson("/v2/models/vad/infer", request);
    assertThat(online.status()).as(online.body()).isEqualTo(200);
    assertThat(got.get("tensors.jsonl#line=1").path("result").path("outputs"))
        .isEqualTo(online.json().path("outputs"));
    assertThat(got.get("tensors.jsonl#line=2").path("error").path("code").asText())
        .isEqualTo("model_not_found");
    assertThat(got.get("tensors.jsonl#line=3").path("error").path("code").asText())
        .isEqualTo("missing_input");
    assertThat(got.get("tensors.jsonl#line=4").path("error").path("code").asText())
        .isEqualTo("invalid_json");

    var picture = client.post("/v1/faces", TestAssets.mediaBytes("astronaut.png"), "image/png");
    assertThat(got.get("astronaut.png").path("result").path("faces"))
        .isEqualTo(picture.json().path("faces"));
    Path annotated = root.resolve(end.path("annotated").asText());
    assertThat(annotated.resolve("astronaut.png.jpg")).isNotEmptyFile();
    assertThat(annotated.resolve("door.mp4.frame-0.jpg")).isNotEmptyFile();
    assertThat(annotated.resolve("door.mp4.frame-29.jpg")).doesNotExist(); // no face there
  }

  @Test
  void requestsThatCannotRunAreRefusedClearly() throws Exception {
    Files.createDirectories(root.resolve("some"));
    Files.copy(TestAssets.media("camera.png"), root.resolve("some/camera.png"));
    Map<String, String> codes =
        Map.of(
            "{\"input\": \"../../etc\"}", "invalid_path",
            "{\"input\": \"/etc/passwd\"}", "invalid_path",
            "{\"input\": \"some\", \"output\": \"../out.jsonl\"}", "invalid_path",
            "{\"input\": \"some\", \"output\": \"out.csv\"}", "invalid_path",
            "{\"input\": \"nowhere\"}", "input_not_found",
            "{\"input\": \"some\", \"fps\": 0}", "invalid_parameter",
            "{\"input\": \"some\", \"workers\": 0}", "invalid_parameter",
            "{}", "invalid_request");
    for (var c : codes.entrySet()) {
      var r = client.post("/v1/batch", c.getKey().getBytes(), "application/json");
      assertThat(r.status()).as(c.getKey() + " → " + r.body()).isEqualTo(400);
      assertThat(r.json().path("code").asText()).as(r.body()).isEqualTo(c.getValue());
    }
    assertThat(client.get("/v1/batch/nope").status()).isEqualTo(404);
    assertThat(client.delete("/v1/batch/nope").json().path("code").asText())
        .isEqualTo("job_not_found");
  }

  @Test
  void aCancelledJobStopsAndASecondJobOnTheSameOutputResumesIt() throws Exception {
    Path in = Files.createDirectories(root.resolve("many"));
    Path jpg =
        TestAssets.ffmpeg(
            tmp.resolve("small.jpg"),
            "-i",
            TestAssets.media("astronaut.png").toString(),
            "-vf",
            "scale=256:256");
    int n = 400;
    for (int i = 0; i < n; i++) {
      Files.copy(jpg, in.resolve(String.format("f%04d.jpg", i)));
    }
    var first =
        client.postJson("/v1/batch", Map.of("input", "many", "output", "many.jsonl", "workers", 1));
    String id = first.json().path("id").asText();
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(20))
        .until(
            () ->
                client.get("/v1/batch/" + id).json().path("progress").path("processed").asInt()
                    >= 20);
    var busy = client.postJson("/v1/batch", Map.of("input", "many", "output", "many.jsonl"));
    assertThat(busy.status()).isEqualTo(400);
    assertThat(busy.json().path("code").asText()).isEqualTo("output_in_use");
    assertThat(client.delete("/v1/batch/" + id).status()).isEqualTo(200);
    JsonNode end = awaitEnd(id);
    assertThat(end.path("state").asText()).isEqualTo("cancelled");
    int doneFirst = end.path("progress").path("processed").asInt();
    assertThat(doneFirst).as(end.toString()).isBetween(20, n - 1);
    assertThat(Files.readAllLines(root.resolve("many.jsonl"))).hasSize(doneFirst);

    var second =
        client.postJson("/v1/batch", Map.of("input", "many", "output", "many.jsonl", "workers", 2));
    JsonNode end2 = awaitEnd(second.json().path("id").asText());
    assertThat(end2.path("state").asText()).isEqualTo("done");
    assertThat(end2.path("progress").path("skipped").asInt()).isEqualTo(doneFirst);
    assertThat(end2.path("progress").path("processed").asInt()).isEqualTo(n - doneFirst);
    Map<String, JsonNode> all = results(second.json().path("id").asText());
    assertThat(all).hasSize(n);
    assertThat(all.values()).allMatch(l -> l.path("result").path("faces").size() == 1);
  }
}
