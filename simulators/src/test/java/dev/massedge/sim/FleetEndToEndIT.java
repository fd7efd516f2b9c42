package dev.massedge.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.massedge.bridge.testing.Api;
import dev.massedge.bridge.testing.Browser;
import dev.massedge.bridge.testing.Postgres;
import dev.massedge.inference.FineTune;
import dev.massedge.inference.TestAssets;
import dev.massedge.sync.testing.Broker;
import dev.massedge.sync.testing.ModelDirs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole product, as processes: the packaged bridge on Mosquitto and PostgreSQL, three packaged
 * agents with a real camera pipeline each (ffmpeg, BlazeFace). Model v2 (its last layers retrained)
 * is uploaded and rolled out with a canary phase; all three fetch only the chunks they lack,
 * verify, smoke-test, switch, pass their health window and report v2 active; the dashboard shows it
 * (target/e2e-dashboard.png).
 */
class FleetEndToEndIT {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  static final String TOKEN = "end-to-end-admin-token-0123456789";
  @TempDir Path tmp;

  @Test
  void threeAgentsTakeModelV2ThroughACanaryRollout() throws Exception {
    FleetProcesses fleet = new FleetProcesses(ROOT);
    List<AutoCloseable> closing = new ArrayList<>();
    try (Broker mosquitto = Broker.mosquitto();
        Postgres pg = Postgres.start()) {
      String db = pg.newDatabase("fleet_e2e");
      String mqtt = "tcp://127.0.0.1:" + mosquitto.port();
      FleetProcesses.Running bridge =
          fleet.bridge(
              tmp.resolve("bridge"),
              Map.of(
                  "mass.bridge.mqtt-url", mqtt,
                  "mass.bridge.db-url", db,
                  "mass.bridge.admin-tokens", TOKEN,
                  "mass.bridge.rollout-tick", "250ms"));
      closing.add(bridge);
      bridge.awaitHttp("/health", Duration.ofSeconds(60));
      Api api = new Api(bridge.url(), TOKEN);

      // the catalog: v1 as bundled with the agents, v2 with 5 % of its weights retrained
      Path v1 = TestAssets.model("face-blazeface-128");
      Path v2 = tmp.resolve("face-short-2");
      Path file = ModelDirs.asVersion(v1, v2, "2");
      FineTune.lastLayers(v1.resolve("model.onnx"), file, 0.05, 2);
      for (Path m : List.of(v1, v2)) {
        Api.Reply r = api.send("POST", "/api/v1/models?notes=e2e", "application/zip", Demo.zip(m));
        assertThat(r.status()).as(r.body().toString()).isEqualTo(201);
      }
      String key = api.ok("/api/v1/fleet-key").path("publicKey").asText();

      List<FleetProcesses.Running> agents = new ArrayList<>();
      for (int i = 1; i <= 3; i++) {
        FleetProcesses.Running a =
            fleet.agent("cam-" + i, tmp.resolve("cam-" + i), stillCamera(mqtt, key, "4s"));
        closing.add(a);
        agents.add(a);
      }
      for (FleetProcesses.Running a : agents) {
        a.awaitHttp("/v2/health/ready", Duration.ofSeconds(90));
      }
      for (int i = 1; i <= 3; i++) {
        String id = "cam-" + i;
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> api.get("/api/v1/devices/" + id).body().path("online").asBoolean());
        assertThat(
                api.put("/api/v1/devices/" + id + "/tags", Map.of("tags", List.of("camera")))
                    .status())
            .isEqualTo(200);
      }
      // telemetry flows before the rollout: the latency gate has its baseline
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  api.ok("/api/v1/telemetry?name=model.latency_ms.p95&model=face-short&version=1")
                          .size()
                      >= 3);

      // a steady scene before the rollout: the detection gate compares the 10 s before the phase
      // with the 10 s after the commit, and agents that just started saw no face for a moment
      for (int i = 1; i <= 3; i++) {
        String device = "cam-" + i;
        await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofSeconds(1))
            .until(
                () -> {
                  JsonNode rows =
                      api.ok(
                          "/api/v1/telemetry?device="
                              + device
                              + "&name=pipeline.faces_in_view&since="
                              + (System.currentTimeMillis() - 11_000));
                  int ones = 0;
                  for (JsonNode row : rows) {
                    ones += row.path("metric_value").asDouble() == 1.0 ? 1 : 0;
                  }
                  return rows.size() >= 8 && ones == rows.size();
                });
      }
      Map<String, Object> gates = Api.gates(5);
      gates.put("maxLatencyRatio", 3.0); // v1's p95 still carries its cold start
      Api.Reply started =
          api.post(
              "/api/v1/rollouts",
              Map.of(
                  "model",
                  "face-short",
                  "version",
                  "2",
                  "tags",
                  List.of("camera"),
                  "phases",
                  List.of(1, 100),
                  "gates",
                  gates));
      assertThat(started.status()).as(started.body().toString()).isEqualTo(201);
      long id = started.body().path("id").asLong();
      assertThat(started.body().path("phaseList").get(0).path("devices").asInt()).isEqualTo(1);
      await()
          .atMost(Duration.ofSeconds(180))
          .pollInterval(Duration.ofSeconds(1))
          .until(
              () -> {
                String s = api.ok("/api/v1/rollouts/" + id).path("state").asText();
                assertThat(s)
                    .as(
                        api.ok("/api/v1/rollouts/" + id)
                            + "\nfaces in view: "
                            + api.ok("/api/v1/telemetry?name=pipeline.faces_in_view&limit=200"))
                    .isIn("running", "completed");
                return s.equals("completed");
              });
      JsonNode r = api.ok("/api/v1/rollouts/" + id);
      assertThat(r.path("states").path("succeeded").asInt()).isEqualTo(3);
      for (int i = 1; i <= 3; i++) {
        JsonNode d = api.ok("/api/v1/devices/cam-" + i);
        assertThat(d.path("models").path("face-short").path("active").asText()).isEqualTo("2");
        assertThat(d.path("models").path("face-short").path("state").asText()).isEqualTo("active");
        assertThat(d.path("inSync").asBoolean()).isTrue();
        // the agent itself serves v2, and its camera pipeline still finds the face
        JsonNode pipes = Api.JSON.readTree(get(agents.get(i - 1).url() + "/v1/pipelines"));
        assertThat(pipes.toString()).contains("\"faces_in_view\":1");
      }
      // telemetry of v2 arrived and the health gates had data
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  api.ok("/api/v1/telemetry?name=model.calls&model=face-short&version=2").size()
                      >= 3);

      // a device's model over MQTT, through the REST API and through the CLI
      StringBuilder zeros = new StringBuilder();
      for (int i = 0; i < 128 * 128 * 3; i++) {
        zeros.append(i == 0 ? "0" : ",0");
      }
      byte[] request =
          ("{\"inputs\":[{\"name\":\"input:0\",\"datatype\":\"FP32\",\"shape\":[1,128,128,3],"
                  + "\"data\":["
                  + zeros
                  + "]}]}")
              .getBytes(java.nio.charset.StandardCharsets.UTF_8);
      Api.Reply inferred =
          api.send("POST", "/api/v1/devices/cam-1/infer/face-short", "application/json", request);
      assertThat(inferred.status()).as(inferred.body().toString()).isEqualTo(200);
      assertThat(inferred.body().path("outputs")).hasSize(4);
      assertThat(inferred.body().path("model_version").asText()).isEqualTo("2");
      binaryTensorsPassThrough(bridge.url(), inferred.body().path("outputs").get(0));
      assertThat(
              api.send(
                      "POST",
                      "/api/v1/devices/cam-1/infer/no-such-model",
                      "application/json",
                      request)
                  .status())
          .isEqualTo(404);
      assertThat(
              api.send(
                      "POST", "/api/v1/devices/ghost/infer/face-short", "application/json", request)
                  .status())
          .isEqualTo(404);
      Path requestFile = tmp.resolve("request.json");
      java.nio.file.Files.write(requestFile, request);
      ProcessBuilder cli =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  ROOT.resolve("cloud-bridge/target/cloud-bridge.jar").toString(),
                  "dev.massedge.bridge.Application",
                  "infer",
                  "--device",
                  "cam-2",
                  "--model",
                  "face-short",
                  requestFile.toString())
              .redirectErrorStream(true);
      cli.environment().put("MASS_BRIDGE_URL", bridge.url());
      cli.environment().put("MASS_TOKEN", TOKEN);
      Process p = cli.start();
      String printed = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor()).as(printed).isZero();
      assertThat(printed).contains("\"outputs\"").contains("\"model_name\" : \"face-short\"");

      try (Browser browser = new Browser()) {
        browser.open(bridge.url() + "/#token=" + TOKEN);
        await()
            .atMost(Duration.ofSeconds(30))
            .until(
                () ->
                    browser
                            .eval(
                                "const r = document.querySelector('#rollout-"
                                    + id
                                    + "'); return r ? r.dataset.state : ''")
                            .asText()
                            .equals("completed")
                        && browser
                                .eval(
                                    "return document.querySelectorAll('#devices tbody tr').length")
                                .asInt()
                            == 3);
        String devices =
            browser.eval("return document.querySelector('#devices').textContent").asText();
        assertThat(devices.split("face-short@2", -1).length - 1).isEqualTo(3);
        browser.eval(
            "document.querySelector('#chart-metric').value = 'model.latency_ms.p95'; document.querySelector('#chart-metric').dispatchEvent(new Event('change'))");
        await()
            .atMost(Duration.ofSeconds(20))
            .until(
                () ->
                    browser
                            .eval(
                                "const s = document.querySelector('#chart svg'); return s ? +s.dataset.series : 0")
                            .asInt()
                        >= 3);
        browser.screenshot(Path.of("target/e2e-dashboard.png"));
      }
    } finally {
      for (int i = closing.size() - 1; i >= 0; i--) {
        closing.get(i).close();
      }
    }
  }

  /**
   * An agent syncing over {@code mqtt}, trusting {@code key}, with one camera pipeline {@code door}
   * on the still face picture at 2 fps and telemetry every second.
   */
  static Map<String, String> stillCamera(String mqtt, String key, String healthWindow) {
    return Map.ofEntries(
        Map.entry("mass.sync.url", mqtt),
        Map.entry("mass.sync.trusted-keys", key),
        Map.entry("mass.sync.health-window", healthWindow),
        Map.entry("mass.sync.telemetry-interval", "1s"),
        Map.entry("mass.pipelines.door.kind", "camera"),
        Map.entry("mass.pipelines.door.source", "ffmpeg"),
        Map.entry("mass.pipelines.door.input", TestAssets.media("astronaut.png").toString()),
        Map.entry("mass.pipelines.door.input-options", "-loop,1"),
        Map.entry("mass.pipelines.door.fps", "2"),
        Map.entry("mass.pipelines.door.model", "face-short"));
  }

  static String get(String url) throws Exception {
    return java.net.http.HttpClient.newHttpClient()
        .send(
            java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString())
        .body();
  }

  /**
   * The binary tensor extension through the bridge's REST API and MQTT: the same zero input as
   * tensor bytes, one output asked for as binary → the same numbers as the JSON answer {@code
   * json}.
   */
  private static void binaryTensorsPassThrough(String bridgeUrl, JsonNode json) throws Exception {
    String name = json.path("name").asText();
    byte[] header =
        ("{\"inputs\":[{\"name\":\"input:0\",\"datatype\":\"FP32\",\"shape\":[1,128,128,3],"
                + "\"parameters\":{\"binary_data_size\":"
                + (128 * 128 * 3 * 4)
                + "}}],\"outputs\":[{\"name\":\""
                + name
                + "\",\"parameters\":{\"binary_data\":true}}]}")
            .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] body = java.util.Arrays.copyOf(header, header.length + 128 * 128 * 3 * 4);
    java.net.http.HttpResponse<byte[]> r =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(bridgeUrl + "/api/v1/devices/cam-1/infer/face-short"))
                    .header("Authorization", "Bearer " + TOKEN)
                    .header("Content-Type", "application/octet-stream")
                    .header("Inference-Header-Content-Length", Integer.toString(header.length))
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofByteArray());
    assertThat(r.statusCode()).as(new String(r.body())).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("application/octet-stream"));
    int jsonLength =
        Integer.parseInt(r.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
    JsonNode meta = Api.JSON.readTree(java.util.Arrays.copyOf(r.body(), jsonLength));
    JsonNode out = meta.path("outputs").get(0);
    assertThat(out.path("name").asText()).isEqualTo(name);
    assertThat(out.path("shape")).isEqualTo(json.path("shape"));
    java.nio.ByteBuffer data =
        java.nio.ByteBuffer.wrap(r.body(), jsonLength, r.body().length - jsonLength)
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    assertThat(data.remaining()).isEqualTo(json.path("data").size() * 4);
    for (int i = 0; i < json.path("data").size(); i++) {
      assertThat(data.getFloat()).isEqualTo((float) json.path("data").get(i).asDouble());
    }
  }
}
