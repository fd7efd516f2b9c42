package dev.massedge.agent.batch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.agent.AgentClient;
import dev.massedge.inference.TestAssets;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batch inference with the packaged agent's {@code BatchRun}, as {@code ./mass batch} runs it: the
 * same results as the online endpoints, a corrupt file reported without stopping the run, and a run
 * killed halfway that finishes on a rerun without redoing what was done.
 */
class BatchIT {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  Process batch(Path dir, Path out, Path log) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(
        List.of(
            "-Xmx256m",
            "-Djava.io.tmpdir=" + tmp,
            "-cp",
            ROOT.resolve("edge-agent/target/edge-agent.jar").toString(),
            "dev.massedge.agent.batch.BatchRun",
            dir.toString(),
            "--out",
            out.toString(),
            "--models",
            ROOT.resolve("models").toString(),
            "--workers",
            "2"));
    return new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
  }

  static Map<String, JsonNode> lines(Path out) throws Exception {
    Map<String, JsonNode> m = new HashMap<>();
    for (String line : Files.readAllLines(out)) {
      JsonNode n = JSON.readTree(line);
      assertThat(m.put(n.path("input").asText(), n)).as("done twice: " + line).isNull();
    }
    return m;
  }

  @Test
  void theSameResultsAsTheOnlineEndpointsAndACorruptFileDoesNotStopTheRun() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("in"));
    List<String> images = List.of("astronaut.png", "camera.png");
    List<String> wavs = List.of("vad_test_16k.wav", "hey_jarvis_16k.wav", "stop_16k.wav");
    for (String f : images) {
      Files.copy(TestAssets.media(f), dir.resolve(f));
    }
    Files.createDirectories(dir.resolve("audio"));
    for (String f : wavs) {
      Files.copy(TestAssets.media(f), dir.resolve("audio").resolve(f));
    }
    Files.write(dir.resolve("broken.png"), "not a picture".getBytes());
    byte[] wav = Files.readAllBytes(TestAssets.media("stop_16k.wav"));
    Files.write(dir.resolve("audio/cut.wav"), java.util.Arrays.copyOf(wav, 30));
    Path out = tmp.resolve("results.jsonl");
    Process p = batch(dir, out, tmp.resolve("batch.log"));
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(Files.readString(tmp.resolve("batch.log"))).isZero();
    Map<String, JsonNode> got = lines(out);
    assertThat(got).hasSize(7);
    assertThat(got.get("broken.png").path("error").path("code").asText()).isNotEmpty();
    assertThat(got.get("audio/cut.wav").path("error").path("code").asText()).isNotEmpty();

    Map<String, Object> props = new HashMap<>();
    props.put("micronaut.server.port", -1);
    props.put("mass.agent.models-dir", ROOT.resolve("models").toString());
    props.put("mass.coap.enabled", false);
    try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, props)) {
      AgentClient client = new AgentClient(agent.getURI());
      for (String f : images) {
        var online = client.post("/v1/faces", Files.readAllBytes(dir.resolve(f)), "image/png");
        assertThat(online.status()).isEqualTo(200);
        JsonNode r = got.get(f).path("result");
        assertThat(r.path("faces")).as(f).isEqualTo(online.json().path("faces"));
        assertThat(r.path("width")).isEqualTo(online.json().path("width"));
      }
      for (String f : wavs) {
        var online =
            client.post(
                "/v1/vad", Files.readAllBytes(dir.resolve("audio").resolve(f)), "audio/wav");
        assertThat(online.status()).isEqualTo(200);
        JsonNode r = got.get("audio/" + f).path("result");
        assertThat(r.path("segments")).as(f).isEqualTo(online.json().path("segments"));
        assertThat(r.path("segments")).isNotEmpty();
      }
    }
  }

  @Test
  void aRunKilledHalfwayFinishesOnARerunWithoutRedoingTheDoneItems() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("many"));
    Path jpg =
        TestAssets.ffmpeg(
            tmp.resolve("face.jpg"),
            "-i",
            TestAssets.media("astronaut.png").toString(),
            "-vf",
            "scale=256:256");
    int n = 600;
    for (int i = 0; i < n; i++) {
      Files.copy(jpg, dir.resolve(String.format("frame-%04d.jpg", i)));
    }
    Path out = tmp.resolve("many.jsonl");
    Process first = batch(dir, out, tmp.resolve("first.log"));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline
        && (!Files.exists(out) || Files.readAllLines(out).size() < 30)) {
      Thread.sleep(5);
    }
    first.destroyForcibly().waitFor(); // SIGKILL: a line may be torn
    long doneBefore;
    try (var r = Files.newBufferedReader(out)) {
      doneBefore =
          r.lines()
              .filter(
                  l -> {
                    try {
                      return JSON.readTree(l).has("input");
                    } catch (Exception torn) {
                      return false;
                    }
                  })
              .count();
    }
    assertThat(doneBefore).as("killed halfway").isBetween(30L, (long) n - 1);

    Process second = batch(dir, out, tmp.resolve("second.log"));
    assertThat(second.waitFor(180, TimeUnit.SECONDS)).isTrue();
    String log = Files.readString(tmp.resolve("second.log"));
    assertThat(second.exitValue()).as(log).isZero();
    assertThat(log)
        .contains(
            n
                + " items: "
                + doneBefore
                + " done before (skipped), "
                + (n - doneBefore)
                + " processed now (0 errors)");
    Map<String, JsonNode> all = lines(out); // each input exactly once, every line whole
    assertThat(all).hasSize(n);
    assertThat(all.values()).allMatch(l -> l.path("result").path("faces").size() == 1);
  }
}
