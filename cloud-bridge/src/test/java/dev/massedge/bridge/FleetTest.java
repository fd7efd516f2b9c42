package dev.massedge.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.massedge.bridge.cli.Cli;
import dev.massedge.bridge.testing.Api;
import dev.massedge.bridge.testing.BridgeApp;
import dev.massedge.bridge.testing.FakeDevice;
import dev.massedge.inference.FineTune;
import dev.massedge.inference.TestAssets;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.testing.ModelDirs;
import dev.massedge.sync.testing.TcpProxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet manager against its embedded MQTT 5 broker and H2 (the PostgreSQL subclass runs the
 * same tests there), with devices that speak the contract: registry, auth, catalog, telemetry
 * ingest, twins and staged rollouts with their failure paths.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FleetTest {
  static final String MODEL = "face-short";
  Path tmp;
  BridgeApp bridge;
  Api api;
  final List<AutoCloseable> closing = new ArrayList<>();

  /** The JDBC URL to run on; null: the embedded H2 default. */
  String dbUrl() throws Exception {
    return null;
  }

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    tmp = dir;
    bridge = new BridgeApp(tmp.resolve("bridge"), dbUrl(), null, Map.of());
    api = bridge.api();
    for (String v : List.of("1", "2", "3")) {
      push(version(v), "v" + v);
    }
  }

  @AfterAll
  void stop() throws Exception {
    for (AutoCloseable c : closing) {
      c.close();
    }
    bridge.close();
    closeDatabase();
  }

  void closeDatabase() throws Exception {}

  Path version(String v) throws Exception {
    Path dir = tmp.resolve("models/" + MODEL + "-" + v);
    if (!Files.exists(dir)) {
      ModelDirs.asVersion(TestAssets.model("face-blazeface-128"), dir, v);
    }
    return dir;
  }

  JsonNode push(Path dir, String notes) throws Exception {
    Api.Reply r =
        api.send("POST", "/api/v1/models?notes=" + notes, "application/zip", Cli.zip(dir));
    assertThat(r.status()).as(r.body().toString()).isIn(200, 201);
    return r.body();
  }

  FakeDevice device(String id, String url) throws Exception {
    FakeDevice d = new FakeDevice(id, url, tmp.resolve("devices"), Map.of(MODEL, "1"));
    closing.add(d);
    return d;
  }

  FakeDevice device(String id) throws Exception {
    return device(id, bridge.mqttUrl);
  }

  void tag(String id, String... tags) throws Exception {
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> api.get("/api/v1/devices/" + id).status() == 200);
    assertThat(api.put("/api/v1/devices/" + id + "/tags", Map.of("tags", List.of(tags))).status())
        .isEqualTo(200);
  }

  JsonNode rollout(long id) throws Exception {
    return api.ok("/api/v1/rollouts/" + id);
  }

  long start(String version, String tag, List<Integer> phases, double failureThreshold)
      throws Exception {
    Map<String, Object> gates = Api.gates(1);
    gates.put("failureThreshold", failureThreshold);
    return api.startRollout(MODEL, version, tag, phases, gates);
  }

  @Test
  void devicesAppearOnBirthAndGoOfflineOnWill() throws Exception {
    try (TcpProxy proxy = new TcpProxy(bridge.mqttPort)) {
      device("reg-1", proxy.url());
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> api.get("/api/v1/devices/reg-1").body().path("online").asBoolean());
      JsonNode d = api.ok("/api/v1/devices/reg-1");
      assertThat(d.path("arch").asText()).isEqualTo("amd64");
      assertThat(d.path("agentVersion").asText()).isEqualTo("fake-1");
      assertThat(d.path("models").path(MODEL).path("active").asText()).isEqualTo("1");
      proxy.cut(); // the broker loses the connection: the will says offline
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> !api.get("/api/v1/devices/reg-1").body().path("online").asBoolean());
      proxy.heal();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> api.get("/api/v1/devices/reg-1").body().path("online").asBoolean());
    }
    tag("reg-1", "camera", "site=lobby");
    assertThat(api.ok("/api/v1/devices?tag=site=lobby").findValuesAsText("id")).contains("reg-1");
    assertThat(api.put("/api/v1/devices/reg-1/tags", Map.of("tags", List.of("Bad Tag"))).status())
        .isEqualTo(400);
    assertThat(
            api.put("/api/v1/devices/nobody/tags", Map.of("tags", List.of("x")))
                .body()
                .path("code")
                .asText())
        .isEqualTo("device_unknown");
  }

  @Test
  void malformedDeviceMessagesAreRefusedAndCounted() throws Exception {
    long before = api.ok("/api/v1/overview").path("messagesRefused").asLong();
    try (var link =
        new dev.massedge.sync.link.MqttLink(
                new dev.massedge.sync.link.MqttLink.Options(bridge.mqttUrl, "garbage")
                    .withCredentials("junk-1", null))
            .start()) {
      await().atMost(Duration.ofSeconds(10)).until(link::connected);
      link.publish("mass/v1/junk-1/status", "{not json".getBytes(StandardCharsets.UTF_8), 1, false)
          .get();
      link.publish(
              "mass/v1/junk-1/twin/reported",
              "{\"schema\": 99}".getBytes(StandardCharsets.UTF_8),
              1,
              false)
          .get();
    }
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> api.ok("/api/v1/overview").path("messagesRefused").asLong() >= before + 2);
    assertThat(api.get("/api/v1/devices/junk-1").status()).isEqualTo(404);
  }

  @Test
  void theApiWantsATokenAndViewersOnlyRead() throws Exception {
    assertThat(api.as(null).get("/api/v1/devices").status()).isEqualTo(401);
    assertThat(api.as(null).get("/api/v1/devices").body().path("code").asText())
        .isEqualTo("token_missing");
    assertThat(api.as("not-a-token-of-this-bridge").get("/api/v1/devices").status()).isEqualTo(401);
    Api viewer = api.as(BridgeApp.VIEWER);
    assertThat(viewer.get("/api/v1/devices").status()).isEqualTo(200);
    assertThat(viewer.get("/api/v1/models").status()).isEqualTo(200);
    Api.Reply r = viewer.post("/api/v1/rollouts", Map.of("model", MODEL, "version", "2"));
    assertThat(r.status()).isEqualTo(403);
    assertThat(r.body().path("code").asText()).isEqualTo("forbidden");
    assertThat(api.as(null).get("/health").status()).isEqualTo(200);
    // the OpenAPI document, made from the controllers at compile time, is public
    var spec =
        java.net.http.HttpClient.newHttpClient()
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(bridge.url() + "/openapi/mass-edge-fleet-api-1.yml"))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(spec.statusCode()).isEqualTo(200);
    assertThat(spec.body())
        .contains("openapi: 3")
        .contains("/api/v1/rollouts/{id}/abort")
        .contains("bearer");
  }

  @Test
  void theCatalogInspectsSignsAndNeverReusesAVersion() throws Exception {
    JsonNode v1 = api.ok("/api/v1/models/" + MODEL + "/1");
    assertThat(v1.path("task").asText()).isEqualTo("face-detection");
    assertThat(v1.path("inputs").toString()).contains("input:0");
    assertThat(v1.path("chunks").asInt()).isGreaterThan(1);
    assertThat(v1.path("notes").asText()).isEqualTo("v1");
    assertThat(v1.path("uploadedBy").asText()).startsWith("admin-");
    // the same bytes again: the same entry
    assertThat(push(version("1"), "again").path("manifestSha256").asText())
        .isEqualTo(v1.path("manifestSha256").asText());
    // the same version with other weights: refused
    Path changed = tmp.resolve("models/changed");
    Path file = ModelDirs.asVersion(version("1"), changed, "1");
    FineTune.lastLayers(version("1").resolve("model.onnx"), file, 0.05, 7);
    Api.Reply r = api.send("POST", "/api/v1/models", "application/zip", Cli.zip(changed));
    assertThat(r.status()).isEqualTo(409);
    assertThat(r.body().path("code").asText()).isEqualTo("version_exists");
    // a descriptor that does not match the model's real inputs and outputs
    Path wrong = tmp.resolve("models/wrong");
    ModelDirs.asVersion(version("1"), wrong, "9");
    Files.copy(
        TestAssets.model("vad-silero").resolve("model.onnx"),
        wrong.resolve("model.onnx"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    r = api.send("POST", "/api/v1/models", "application/zip", Cli.zip(wrong));
    assertThat(r.status()).isEqualTo(422);
    assertThat(r.body().path("code").asText()).isEqualTo("descriptor_mismatch");
    // not a zip; a zip without model.json; a truncated model file
    r = api.send("POST", "/api/v1/models", "application/zip", "hello".getBytes());
    assertThat(r.body().path("code").asText()).isEqualTo("package_invalid");
    Path truncated = tmp.resolve("models/truncated");
    Path tf = ModelDirs.asVersion(version("1"), truncated, "8");
    byte[] all = Files.readAllBytes(tf);
    Files.write(tf, java.util.Arrays.copyOf(all, all.length / 2));
    r = api.send("POST", "/api/v1/models", "application/zip", Cli.zip(truncated));
    assertThat(r.status()).isEqualTo(422);
    assertThat(r.body().path("message").asText()).isNotBlank();
    assertThat(api.get("/api/v1/models/" + MODEL + "/9").status()).isEqualTo(404);
    assertThat(api.get("/api/v1/models/" + MODEL + "/8").status()).isEqualTo(404);
    // the fleet key verifies what the catalog signed
    JsonNode key = api.ok("/api/v1/fleet-key");
    assertThat(key.path("publicKey").asText()).isNotBlank();
  }

  @Test
  void telemetryIsStoredOnceInOrderAndAcknowledged() throws Exception {
    FakeDevice d = device("tele-1");
    for (int i = 0; i < 40; i++) {
      d.metrics(
          List.of(
              new SyncMessage.Metric(
                  "model.calls", Map.of("model", MODEL, "version", "1"), i, 1000L + i),
              new SyncMessage.Metric("system.cpu", Map.of(), 0.5, 1000L + i)));
      if (i % 10 == 0) {
        d.event(Map.of("type", "face_entered", "n", i));
      }
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> d.outbox().pending() == 0);
    JsonNode rows = api.ok("/api/v1/telemetry?device=tele-1&name=model.calls&limit=1000");
    assertThat(rows.size()).isEqualTo(40);
    List<Double> values = new ArrayList<>();
    rows.forEach(r -> values.add(r.path("metric_value").asDouble()));
    assertThat(values).isSorted();
    assertThat(rows.get(0).path("model").asText()).isEqualTo(MODEL);
    JsonNode events = api.ok("/api/v1/devices/tele-1/events");
    assertThat(events.size()).isEqualTo(4);
    assertThat(events.get(3).path("body").asText()).contains("face_entered");
    JsonNode acc = api.ok("/api/v1/devices/tele-1").path("telemetry");
    assertThat(acc.path("firstSeq").asLong()).isZero();
    assertThat(acc.path("nextSeq").asLong()).isEqualTo(44);
    assertThat(acc.path("received").asLong()).isEqualTo(44);
    assertThat(acc.path("droppedOnDevice").asLong()).isZero();
  }

  @Test
  void telemetryOlderThanTheRetentionIsDeleted() throws Exception {
    var db = bridge.bean(dev.massedge.bridge.db.Db.class);
    long now = System.currentTimeMillis();
    long old = now - Duration.ofDays(8).toMillis();
    for (long ts : List.of(old, old + 1, now)) {
      db.update(
          "insert into metrics (device_id, name, metric_value, ts) values (?, ?, ?, ?)",
          "retention-1",
          "retention.m",
          1.0,
          ts);
    }
    db.update(
        "insert into events (device_id, seq, ts, body) values (?, ?, ?, ?)",
        "retention-1",
        1L,
        old,
        "{}");
    int deleted = bridge.bean(dev.massedge.bridge.telemetry.TelemetryIngest.class).applyRetention();
    assertThat(deleted).isGreaterThanOrEqualTo(3);
    JsonNode rows = api.ok("/api/v1/telemetry?device=retention-1&name=retention.m");
    assertThat(rows.size()).isEqualTo(1);
    assertThat(rows.get(0).path("ts").asLong()).isEqualTo(now);
    assertThat(api.ok("/api/v1/devices/retention-1/events").size()).isZero();
  }

  @Test
  void recordsADeviceDroppedOverItsQuotaAreCountedAndTheRestArrives() throws Exception {
    try (TcpProxy proxy = new TcpProxy(bridge.mqttPort)) {
      FakeDevice d =
          new FakeDevice("quota-1", proxy.url(), tmp.resolve("devices"), Map.of(MODEL, "1"), 8192);
      closing.add(d);
      await().atMost(Duration.ofSeconds(20)).until(d::connected);
      long before =
          api.ok("/api/v1/overview").path("telemetry").path("dropped_on_devices").longValue();
      d.metrics(List.of(new SyncMessage.Metric("quota.n", Map.of(), -1, 1)));
      await().atMost(Duration.ofSeconds(20)).until(() -> d.outbox().pending() == 0);
      proxy.cut();
      for (int i = 0; i < 300; i++) {
        d.metrics(List.of(new SyncMessage.Metric("quota.n", Map.of(), i, 2 + i)));
      }
      long dropped = d.outbox().dropped();
      assertThat(dropped).isPositive();
      proxy.heal();
      await().atMost(Duration.ofSeconds(60)).until(() -> d.outbox().pending() == 0);
      JsonNode rows = api.ok("/api/v1/telemetry?device=quota-1&name=quota.n&limit=1000");
      assertThat(rows.size()).isEqualTo(1 + 300 - (int) dropped);
      assertThat(rows.get(rows.size() - 1).path("metric_value").asInt()).isEqualTo(299);
      assertThat(
              api.ok("/api/v1/overview").path("telemetry").path("dropped_on_devices").longValue()
                  - before)
          .isEqualTo(dropped);
      // every sequence number is accounted for: stored, or dropped on the device and counted
      JsonNode acc = api.ok("/api/v1/devices/quota-1").path("telemetry");
      assertThat(acc.path("received").asLong()).isEqualTo(1 + 300 - dropped);
      assertThat(acc.path("droppedOnDevice").asLong()).isEqualTo(dropped);
      assertThat(acc.path("nextSeq").asLong() - acc.path("firstSeq").asLong()).isEqualTo(301);
    }
  }

  @Test
  void recordsStoredAheadOfAGapThenDroppedByTheDeviceAreNotCountedTwiceAndArePassed()
      throws Exception {
    // found by the fleet simulator's faults: a device whose oldest unconfirmed records overflowed
    // its quota while later ones were already stored ahead of a gap was counted as dropping those
    // stored ones too, and its position then never passed the records stored ahead of it
    try (dev.massedge.sync.link.MqttLink gap =
        new dev.massedge.sync.link.MqttLink(
                new dev.massedge.sync.link.MqttLink.Options(bridge.mqttUrl, "gap-1")
                    .withCredentials("gap-1", null))
            .start()) {
      await().atMost(Duration.ofSeconds(20)).until(gap::connected);
      gap.publish(
              Topics.status("gap-1"),
              dev.massedge.sync.contract.SyncCodec.write(
                  new SyncMessage.Status(
                      dev.massedge.sync.contract.SyncCodec.SCHEMA,
                      true,
                      "test",
                      "x86_64",
                      "none",
                      Map.of(),
                      System.currentTimeMillis())),
              1,
              true)
          .get();
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> api.get("/api/v1/devices/gap-1").status() == 200);
      List<Long> acks = new java.util.concurrent.CopyOnWriteArrayList<>();
      gap.subscribe(
          Topics.telemetryAck("gap-1"),
          1,
          (topic, m) ->
              acks.add(
                  dev.massedge.sync.contract.SyncCodec.read(
                          m.getPayload(), SyncMessage.TelemetryAck.class)
                      .seq()));
      // 0 arrives; 1 is lost; 2 and 3 arrive ahead of the gap; the device drops 1 and 2 over its
      // quota (it never had them confirmed) and sends 4 saying it keeps records from 3 on
      long[][] sent = {{0, 0}, {2, 0}, {3, 0}, {4, 3}};
      for (long[] r : sent) {
        var props = new org.eclipse.paho.mqttv5.common.packet.MqttProperties();
        props.setUserProperties(
            List.of(
                new org.eclipse.paho.mqttv5.common.packet.UserProperty("seq", Long.toString(r[0])),
                new org.eclipse.paho.mqttv5.common.packet.UserProperty(
                    "from", Long.toString(r[1]))));
        byte[] batch =
            dev.massedge.sync.contract.SyncCodec.write(
                new SyncMessage.TelemetryBatch(
                    dev.massedge.sync.contract.SyncCodec.SCHEMA,
                    r[0],
                    List.of(new SyncMessage.Metric("gap.n", Map.of(), r[0], 1 + r[0]))));
        gap.publish(Topics.telemetry("gap-1"), batch, 1, false, props).get();
        await()
            .atMost(Duration.ofSeconds(20))
            .until(
                () -> {
                  JsonNode acc = api.ok("/api/v1/devices/gap-1").path("telemetry");
                  return acc.path("received").asLong() == List.of(sent).indexOf(r) + 1;
                });
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> acks.contains(4L));
      JsonNode acc = api.ok("/api/v1/devices/gap-1").path("telemetry");
      assertThat(acc.path("nextSeq").asLong()).as(acc.toString()).isEqualTo(5);
      assertThat(acc.path("received").asLong()).isEqualTo(4);
      assertThat(acc.path("droppedOnDevice").asLong()).as("only 1 was dropped").isEqualTo(1);
      assertThat(acc.path("pendingAhead").asLong()).isZero();
      assertThat(api.ok("/api/v1/telemetry?device=gap-1&name=gap.n").size()).isEqualTo(4);
    }
  }

  @Test
  void aRolloutWalksItsPhasesAndReachesDevicesThatWereOffline() throws Exception {
    FakeDevice a = device("roll-a");
    device("roll-b");
    device("roll-c");
    FakeDevice late;
    try (TcpProxy proxy = new TcpProxy(bridge.mqttPort)) {
      late = device("roll-late", proxy.url());
      for (String id : List.of("roll-a", "roll-b", "roll-c", "roll-late")) {
        tag(id, "rollcam");
      }
      proxy.cut(); // offline when the rollout starts
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> !api.get("/api/v1/devices/roll-late").body().path("online").asBoolean());
      long id = start("2", "rollcam", List.of(25, 50, 100), 0.0);
      JsonNode r = rollout(id);
      assertThat(r.path("devices").asInt()).isEqualTo(4);
      assertThat(r.path("phaseList").get(0).path("devices").asInt()).isEqualTo(1);
      // the online devices move until the offline one's phase: it is asked, and the rollout waits
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> stateOf(rollout(id), "roll-late").equals("assigned"));
      Thread.sleep(1000);
      assertThat(rollout(id).path("state").asText()).isEqualTo("running");
      assertThat(late.active(MODEL)).isEqualTo("1");
      proxy.heal(); // back: it finds its desired twin waiting (retained) and converges
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> rollout(id).path("state").asText().equals("completed"));
    }
    assertThat(a.active(MODEL)).isEqualTo("2");
    assertThat(late.active(MODEL)).isEqualTo("2");
    JsonNode dev = api.ok("/api/v1/devices/roll-late");
    assertThat(dev.path("inSync").asBoolean()).isTrue();
    assertThat(dev.path("models").path(MODEL).path("active").asText()).isEqualTo("2");
  }

  static String stateOf(JsonNode rollout, String device) {
    for (JsonNode d : rollout.path("deviceList")) {
      if (d.path("device").asText().equals(device)) {
        return d.path("state").asText();
      }
    }
    return "absent";
  }

  @Test
  void aFailingCanaryPausesTheRolloutAndRollsItBack() throws Exception {
    List<FakeDevice> fleet = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      FakeDevice d = device("canary-" + i);
      d.behaviour = FakeDevice.Behaviour.FAIL;
      fleet.add(d);
      tag(d.id, "canarycam");
    }
    long id = start("2", "canarycam", List.of(25, 100), 0.0);
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> rollout(id).path("state").asText().equals("paused"));
    JsonNode r = rollout(id);
    assertThat(r.path("reason").asText()).contains("failed to activate").contains("rolled back");
    assertThat(r.path("states").path("rolled_back").asInt()).isEqualTo(1);
    assertThat(r.path("states").path("pending").asInt()).isEqualTo(3); // never asked
    JsonNode canary = null;
    for (JsonNode d : r.path("deviceList")) {
      if (d.path("state").asText().equals("rolled_back")) {
        canary = d;
      }
    }
    assertThat(canary.path("error").asText()).contains("smoke_test_failed");
    String canaryId = canary.path("device").asText();
    FakeDevice c = fleet.stream().filter(d -> d.id.equals(canaryId)).findFirst().orElseThrow();
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> "1".equals(c.lastDesired.get().models().get(MODEL).version()));
    for (FakeDevice d : fleet) {
      assertThat(d.active(MODEL)).isEqualTo("1");
    }
    // by hand: resume retries the phase (the device now takes it), abort rolls everything back
    c.behaviour = FakeDevice.Behaviour.ACTIVATE;
    assertThat(api.post("/api/v1/rollouts/" + id + "/resume", Map.of()).status()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(30)).until(() -> "2".equals(c.active(MODEL)));
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                rollout(id).path("phase").asInt() == 2
                    || rollout(id).path("state").asText().equals("paused"));
    assertThat(api.post("/api/v1/rollouts/" + id + "/abort", Map.of()).status()).isEqualTo(200);
    assertThat(rollout(id).path("state").asText()).isEqualTo("aborted");
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> "1".equals(c.lastDesired.get().models().get(MODEL).version()));
    assertThat(
            api.post("/api/v1/rollouts/" + id + "/resume", Map.of()).body().path("code").asText())
        .isEqualTo("rollout_not_paused");
  }

  @Test
  void aBrokenHealthGatePausesTheRollout() throws Exception {
    List<FakeDevice> fleet = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      FakeDevice d = device("gate-" + i);
      fleet.add(d);
      tag(d.id, "gatecam");
    }
    long id = start("3", "gatecam", List.of(50, 100), 0.0);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> fleet.stream().anyMatch(d -> "3".equals(d.active(MODEL))));
    FakeDevice canary =
        fleet.stream().filter(d -> "3".equals(d.active(MODEL))).findFirst().orElseThrow();
    long now = System.currentTimeMillis();
    canary.metrics(
        List.of(
            new SyncMessage.Metric("model.calls", Map.of("model", MODEL, "version", "3"), 100, now),
            new SyncMessage.Metric(
                "model.errors", Map.of("model", MODEL, "version", "3"), 30, now)));
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> rollout(id).path("state").asText().equals("paused"));
    assertThat(rollout(id).path("reason").asText()).contains("error rate");
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                "1".equals(canary.active(MODEL))
                    || "1".equals(canary.lastDesired.get().models().get(MODEL).version()));
    assertThat(api.post("/api/v1/rollouts/" + id + "/abort", Map.of()).status()).isEqualTo(200);
  }

  @Test
  void aModelThatStopsSeeingFacesPausesTheRollout() throws Exception {
    List<FakeDevice> fleet = new ArrayList<>();
    long then = System.currentTimeMillis() - 8_000;
    for (int i = 0; i < 2; i++) {
      FakeDevice d = device("detect-" + i);
      fleet.add(d);
      tag(d.id, "detectcam");
      for (int k = 0; k < 6; k++) {
        d.metrics(
            List.of(
                new SyncMessage.Metric(
                    "pipeline.faces_in_view", Map.of("pipeline", "door"), 1, then + k * 1000)));
      }
    }
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> fleet.stream().allMatch(d -> d.outbox().pending() == 0));
    Map<String, Object> gates = Api.gates(10);
    long id = api.startRollout(MODEL, "3", "detectcam", List.of(50, 100), gates);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> rollout(id).path("states").path("succeeded").asInt() == 1);
    FakeDevice canary =
        fleet.stream().filter(d -> "3".equals(d.active(MODEL))).findFirst().orElseThrow();
    long now = System.currentTimeMillis() + 1000;
    for (int k = 0; k < 6; k++) {
      canary.metrics(
          List.of(
              new SyncMessage.Metric(
                  "pipeline.faces_in_view", Map.of("pipeline", "door"), 0, now + k * 1000)));
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> rollout(id).path("state").asText().equals("paused"));
    assertThat(rollout(id).path("reason").asText())
        .contains("faces in view changed by 100 %")
        .contains("mean 1.00 before, 0.00 after, 10 s each");
    assertThat(api.post("/api/v1/rollouts/" + id + "/abort", Map.of()).status()).isEqualTo(200);
  }

  @Test
  void rolloutRequestsAreChecked() throws Exception {
    Api.Reply r =
        api.post("/api/v1/rollouts", Map.of("model", MODEL, "version", "7", "tags", List.of("x")));
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.body().path("code").asText()).isEqualTo("model_unknown");
    r =
        api.post(
            "/api/v1/rollouts",
            Map.of("model", MODEL, "version", "2", "tags", List.of("no-such-tag")));
    assertThat(r.body().path("code").asText()).isEqualTo("no_devices");
    r =
        api.post(
            "/api/v1/rollouts",
            Map.of("model", MODEL, "version", "2", "phases", List.of(50, 10, 100)));
    assertThat(r.body().path("code").asText()).isEqualTo("phases_invalid");
    assertThat(api.get("/api/v1/rollouts/999999").status()).isEqualTo(404);
  }
}
