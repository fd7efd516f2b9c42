package dev.massedge.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.massedge.agent.models.ModelRegistry;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.pkg.PackageSignature;
import dev.massedge.sync.pkg.SignedPackage;
import dev.massedge.sync.testing.Broker;
import dev.massedge.sync.testing.Bytes;
import io.micronaut.context.ApplicationContext;
import io.micronaut.http.client.HttpClient;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The agent takes model versions from the twin: delivery, checks, activation, rollback. */
class SyncTest {
  @TempDir Path tmp;

  static Map<String, Object> agentProps(
      String broker, Path dir, String device, Bridge bridge, double latencyFactor) {
    Map<String, Object> p = new HashMap<>();
    p.put("micronaut.server.port", -1);
    p.put("mass.agent.models-dir", Bridge.MODELS.toString());
    p.put("mass.agent.device-id", device);
    p.put("mass.coap.enabled", false);
    p.put("mass.sync.url", broker);
    p.put("mass.sync.store-dir", dir.resolve("store").toString());
    p.put("mass.sync.outbox-dir", dir.resolve("outbox").toString());
    p.put("mass.sync.trusted-keys", bridge.trustedKey());
    p.put("mass.sync.health-window", "1s");
    p.put("mass.sync.latency-factor", latencyFactor);
    return p;
  }

  static String infer(EmbeddedServer server) {
    try (HttpClient c = HttpClient.create(server.getURL())) {
      return c.toBlocking()
          .retrieve(
              io.micronaut.http.HttpRequest.POST(
                  "/v2/models/face-short/infer",
                  "{\"inputs\":[{\"name\":\"input:0\",\"datatype\":\"FP32\",\"shape\":[1,128,128,3],\"data\":"
                      + zeros(128 * 128 * 3)
                      + "}]}"));
    }
  }

  static String zeros(int n) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < n; i++) {
      b.append(i == 0 ? "0" : ",0");
    }
    return b.append(']').toString();
  }

  @ParameterizedTest
  @ValueSource(strings = {"embedded", "mosquitto"})
  void aNewVersionIsDeliveredCheckedActivatedAndCommitted(String brokerName) throws Exception {
    try (Broker broker = Broker.of(brokerName);
        Bridge bridge = new Bridge(broker.url(), tmp)) {
      SignedPackage v2 =
          bridge.publish(Bridge.variant("face-blazeface-128", tmp.resolve("v2"), "2"));
      String device = "cam-" + brokerName;
      Map<String, Object> props = agentProps(broker.url(), tmp, device, bridge, 1000);
      Path trt = tmp.resolve("tensorrt");
      props.put("mass.agent.tensorrt-cache-dir", trt.toString());
      try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, props)) {
        ModelRegistry models = agent.getApplicationContext().getBean(ModelRegistry.class);
        assertThat(models.require("face-short", null).version()).isEqualTo("1");
        // engines built while running: of the serving version, and of one the device no longer has
        String v1 =
            dev.massedge.inference.onnx.TensorRtCache.key(
                java.nio.file.Files.readAllBytes(
                    Bridge.MODELS.resolve("face-blazeface-128").resolve("model.onnx")));
        Path serving = java.nio.file.Files.createDirectories(trt.resolve(v1).resolve("trt10-gpu"));
        Path stale =
            java.nio.file.Files.createDirectories(
                trt.resolve("0123456789abcdef").resolve("trt10-gpu"));
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> bridge.status.getOrDefault(device, "").contains("\"online\":true"));
        bridge.desire(device, "face-short", v2);
        awaitActive(bridge, device, "2");
        assertThat(models.require("face-short", null).version()).isEqualTo("2");
        assertThat(infer(agent)).contains("\"model_version\":\"2\"");
        List<String> states =
            bridge.reported.get(device).stream()
                .map(r -> r.models().get("face-short"))
                .filter(java.util.Objects::nonNull)
                .map(SyncMessage.ModelState::state)
                .distinct()
                .toList();
        assertThat(states)
            .containsSubsequence("downloading", "verifying", "health_window", "active");
        // the commit cleaned the engine caches; v1 is the bundled version, still on the device
        assertThat(stale.getParent()).doesNotExist();
        assertThat(serving).isDirectory();
      }
      // a restart comes up on the committed version, from the store
      try (EmbeddedServer agent =
          ApplicationContext.run(
              EmbeddedServer.class, agentProps(broker.url(), tmp, device, bridge, 1000))) {
        assertThat(
                agent
                    .getApplicationContext()
                    .getBean(ModelRegistry.class)
                    .require("face-short", null)
                    .version())
            .isEqualTo("2");
        assertThat(infer(agent)).contains("\"model_version\":\"2\"");
      }
    }
  }

  @Test
  void refusalsAreReportedAndTheOldVersionKeepsServing() throws Exception {
    try (Broker broker = Broker.embedded();
        Bridge bridge = new Bridge(broker.url(), tmp)) {
      String device = "cam-refusals";
      try (EmbeddedServer agent =
          ApplicationContext.run(
              EmbeddedServer.class, agentProps(broker.url(), tmp, device, bridge, 1000))) {
        ModelRegistry models = agent.getApplicationContext().getBean(ModelRegistry.class);
        await().atMost(Duration.ofSeconds(20)).until(() -> bridge.status.containsKey(device));

        // signed by a key the device does not trust
        var stranger = PackageSignature.newKeyPair();
        SignedPackage foreign =
            bridge.repo.publish(
                Bridge.variant("face-blazeface-128", tmp.resolve("v3"), "3"), stranger);
        expectFailure(bridge, device, foreign, "unknown_key");

        // a descriptor that does not match the model's real inputs
        Path bad = Bridge.variant("face-blazeface-128", tmp.resolve("v4"), "4");
        Files.writeString(
            bad.resolve("model.json"),
            Files.readString(bad.resolve("model.json"))
                .replace("\"input\": \"input:0\"", "\"input\": \"pixels\""));
        expectFailure(bridge, device, bridge.publish(bad), "smoke_test_failed");

        // a signed, intact package whose model is not a model
        Path junk = Bridge.variant("face-blazeface-128", tmp.resolve("v5"), "5");
        Files.write(junk.resolve("model.onnx"), "not an onnx model".repeat(1000).getBytes());
        expectFailure(bridge, device, bridge.publish(junk), "smoke_test_failed");

        // a manifest altered after signing (the version changed, the signature kept)
        SignedPackage good =
            bridge.publish(Bridge.variant("face-blazeface-128", tmp.resolve("v6"), "6"));
        var m = good.manifest();
        SignedPackage altered =
            bridge.repo.add(
                new SignedPackage(
                    new dev.massedge.sync.pkg.ModelManifest(
                        m.format(),
                        m.name(),
                        "7",
                        m.task(),
                        m.engine(),
                        m.executionProviders(),
                        m.files(),
                        m.descriptor()),
                    good.signatures()));
        expectFailure(bridge, device, altered, "signature_invalid");

        // the server's copy of a file is damaged: the chunk hashes refuse what it sends
        SignedPackage v8 =
            bridge.publish(Bridge.retrained("face-blazeface-128", tmp.resolve("v8"), "8", 0.5));
        Path served = bridge.repo.file(v8.manifest().files().get(0).sha256());
        byte[] bytes = Files.readAllBytes(served);
        for (int i = 0; i < bytes.length; i += 1000) {
          bytes[i] ^= 0x40; // every chunk the device lacks arrives damaged
        }
        Files.write(served, bytes);
        expectFailure(bridge, device, v8, "chunk_hash_mismatch");

        assertThat(models.require("face-short", null).version()).isEqualTo("1");
        assertThat(infer(agent)).contains("\"model_version\":\"1\"");
        assertThat(
                agent.getApplicationContext().getBean(ModelRegistry.class).all().stream()
                    .filter(x -> x.name().equals("face-short"))
                    .map(x -> x.version())
                    .toList())
            .containsExactly("1");
      }
    }
  }

  @Test
  void aModelSignedByARevokedKeyIsRefusedAndTheCurrentOneKeepsServing() throws Exception {
    try (Broker broker = Broker.embedded();
        Bridge bridge = new Bridge(broker.url(), tmp)) {
      String device = "cam-revoked-key";
      var leaked = PackageSignature.newKeyPair(); // once trusted, then revoked
      Map<String, Object> props = agentProps(broker.url(), tmp, device, bridge, 1000);
      props.put(
          "mass.sync.trusted-keys",
          bridge.trustedKey()
              + ","
              + java.util.Base64.getEncoder().encodeToString(leaked.getPublic().getEncoded()));
      props.put("mass.sync.revoked-keys", PackageSignature.keyId(leaked.getPublic()));
      try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, props)) {
        await().atMost(Duration.ofSeconds(20)).until(() -> bridge.status.containsKey(device));
        // alone, and beside the fleet's own good signature
        expectFailure(
            bridge,
            device,
            bridge.repo.publish(
                Bridge.variant("face-blazeface-128", tmp.resolve("r2"), "2"), leaked),
            "revoked_key");
        expectFailure(
            bridge,
            device,
            bridge.repo.publish(
                Bridge.variant("face-blazeface-128", tmp.resolve("r3"), "3"),
                bridge.fleetKey,
                leaked),
            "revoked_key");
        assertThat(infer(agent)).contains("\"model_version\":\"1\"");
        // the fleet key alone still delivers
        bridge.desire(
            device,
            "face-short",
            bridge.publish(Bridge.variant("face-blazeface-128", tmp.resolve("r4"), "4")));
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> infer(agent).contains("\"model_version\":\"4\""));
      }
    }
  }

  @Test
  void deliveredModelsAreEncryptedAtRestWithTheDevicesKey() throws Exception {
    Path key = tmp.resolve("model.key");
    byte[] k = new byte[32];
    new java.security.SecureRandom().nextBytes(k);
    Files.write(key, k);
    try (Broker broker = Broker.embedded();
        Bridge bridge = new Bridge(broker.url(), tmp)) {
      String device = "cam-sealed";
      Map<String, Object> props = agentProps(broker.url(), tmp, device, bridge, 1000);
      props.put("mass.sync.model-key-file", key.toString());
      Path v2 = Bridge.variant("face-blazeface-128", tmp.resolve("e2"), "2");
      try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, props)) {
        await().atMost(Duration.ofSeconds(20)).until(() -> bridge.status.containsKey(device));
        bridge.desire(device, "face-short", bridge.publish(v2));
        awaitActive(bridge, device, "2");
        assertThat(infer(agent)).contains("\"model_version\":\"2\"");
      }
      // on disk: every chunk and the model file sealed; not a slice of the model in clear
      byte[] plain = Files.readAllBytes(v2.resolve("model.onnx"));
      byte[] slice = java.util.Arrays.copyOfRange(plain, plain.length / 2, plain.length / 2 + 64);
      List<Path> stored;
      try (var w = Files.walk(tmp.resolve("store"))) {
        stored =
            w.filter(Files::isRegularFile)
                .filter(f -> f.toString().contains("chunks") || f.toString().endsWith(".onnx"))
                .toList();
      }
      assertThat(stored).as("a chunk pack and the model").hasSizeGreaterThanOrEqualTo(2);
      int sealedChunks = 0;
      for (Path f : stored) {
        byte[] b = Files.readAllBytes(f);
        assertThat(Bytes.indexOf(b, slice)).as(f.toString()).isEqualTo(-1);
        if (f.toString().endsWith(".pack")) {
          // a pack's records (docs/package-format.md): "MCK1", SHA-256, length, the sealed bytes
          java.nio.ByteBuffer r = java.nio.ByteBuffer.wrap(b, 8, b.length - 8);
          while (r.hasRemaining()) {
            assertThat(r.getInt()).isEqualTo(0x4D434B31);
            r.position(r.position() + 32);
            int len = r.getInt();
            assertThat(new String(b, r.position(), 8, java.nio.charset.StandardCharsets.US_ASCII))
                .as(f + " at " + r.position())
                .isEqualTo("MASSGCM1");
            r.position(r.position() + len);
            sealedChunks++;
          }
        } else {
          assertThat(new String(b, 0, 8, java.nio.charset.StandardCharsets.US_ASCII))
              .as(f.toString())
              .isEqualTo("MASSGCM1");
        }
      }
      assertThat(sealedChunks).isGreaterThan(10);
      // a restart with the key comes up on v2, decrypted in memory
      try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, props)) {
        assertThat(infer(agent)).contains("\"model_version\":\"2\"");
      }
      // with another key v2 cannot be verified: the agent serves the version it can (bundled v1)
      Path other = tmp.resolve("other.key");
      Files.write(other, new byte[32]);
      props.put("mass.sync.model-key-file", other.toString());
      try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, props)) {
        assertThat(infer(agent)).contains("\"model_version\":\"1\"");
      }
      // and a key file that is not a key stops the agent, naming the setting
      Files.writeString(other, "not a key");
      assertThatThrownBy(() -> ApplicationContext.run(EmbeddedServer.class, props).close())
          .hasStackTraceContaining("mass.sync.model-key-file");
    }
  }

  /** Waits until the device reports face-short {@code version} active (committed). */
  static void awaitActive(Bridge bridge, String device, String version) {
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              SyncMessage.ModelState s = bridge.last(device, "face-short");
              return s != null && s.state().equals("active") && version.equals(s.active());
            });
  }

  static void expectFailure(Bridge bridge, String device, SignedPackage p, String code)
      throws Exception {
    bridge.desire(device, "face-short", p);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              SyncMessage.ModelState s = bridge.last(device, "face-short");
              return s != null
                  && s.state().equals("failed")
                  && p.manifest().version().equals(s.pending())
                  && s.error() != null
                  && s.error().startsWith(code);
            });
    assertThat(bridge.last(device, "face-short").active()).isEqualTo("1");
  }

  @Test
  void jetsonMetricsFromTegrastatsJoinTheTelemetry() throws Exception {
    // a stand-in for tegrastats (the real one exists only on a Jetson) printing an Orin line
    Path fake = tmp.resolve("bin/tegrastats");
    java.nio.file.Files.createDirectories(fake.getParent());
    java.nio.file.Files.writeString(
        fake,
        "#!/bin/sh\nwhile true; do echo 'RAM 3014/30536MB (lfb 6344x4MB) SWAP 0/15268MB (cached"
            + " 0MB) CPU [7%@729,9%@729] EMC_FREQ 0%@2133 GR3D_FREQ 41%@[305,305] CPU@45.968C"
            + " GPU@-256C tj@46.281C VDD_GPU_SOC 2390mW/2390mW'; sleep 0.2; done\n");
    fake.toFile().setExecutable(true);
    try (Broker broker = Broker.embedded();
        Bridge bridge = new Bridge(broker.url(), tmp)) {
      Map<String, Object> props = agentProps(broker.url(), tmp, "jetson-1", bridge, 1000);
      props.put("mass.sync.tegrastats", fake.toString());
      props.put("mass.sync.telemetry-interval", "1s");
      try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, props)) {
        await()
            .atMost(Duration.ofSeconds(30))
            .until(
                () ->
                    bridge.records.stream()
                        .anyMatch(
                            r ->
                                r.startsWith("jetson-1 ")
                                    && r.contains("\"jetson.gpu.load_pct\"")
                                    && r.contains("\"jetson.power.vdd_gpu_soc_mw\"")));
        String batch =
            bridge.records.stream().filter(r -> r.contains("jetson.gpu")).findFirst().orElseThrow();
        assertThat(batch).contains("jetson.temp.tj_c").doesNotContain("jetson.temp.gpu_c");
      }
    }
  }

  @Test
  void theTwinSwitchesPipelinesOffAndOnAndSaysWhatItRefused() throws Exception {
    try (Broker broker = Broker.embedded();
        Bridge bridge = new Bridge(broker.url(), tmp)) {
      String device = "cam-config";
      Map<String, Object> props = agentProps(broker.url(), tmp, device, bridge, 1000);
      props.put("mass.pipelines.door.kind", "camera");
      props.put("mass.pipelines.door.source", "ffmpeg");
      props.put("mass.pipelines.door.input", "testsrc=size=320x240:rate=5");
      props.put("mass.pipelines.door.input-options", List.of("-f", "lavfi", "-re"));
      props.put("mass.pipelines.door.fps", "5");
      try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, props)) {
        var manager =
            agent
                .getApplicationContext()
                .getBean(dev.massedge.agent.pipeline.PipelineManager.class);
        assertThat(manager.get("door")).isNotNull();
        await().atMost(Duration.ofSeconds(20)).until(() -> bridge.status.containsKey(device));
        bridge.desireConfig(
            device,
            Map.of(
                "pipelines",
                Map.of(
                    "door",
                    Map.of("enabled", false, "input", "/dev/video9"),
                    "ghost",
                    Map.of("enabled", true))));
        await().atMost(Duration.ofSeconds(20)).until(() -> manager.get("door") == null);
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> String.valueOf(bridge.lastConfig(device)).contains("ghost"));
        String reported = String.valueOf(bridge.lastConfig(device));
        assertThat(reported)
            .contains("enabled=false")
            .contains("not settable remotely")
            .contains("no pipeline 'ghost'");

        bridge.desireConfig(device, Map.of("pipelines", Map.of("door", Map.of("enabled", true))));
        await().atMost(Duration.ofSeconds(20)).until(() -> manager.get("door") != null);
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> String.valueOf(bridge.lastConfig(device)).contains("enabled=true"));
        // settings: in range → the pipeline restarts with them; out of range → refused, named
        var before = manager.get("door");
        bridge.desireConfig(
            device,
            Map.of(
                "pipelines", Map.of("door", Map.of("enabled", true, "fps", 2, "min-hits", 500))));
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> String.valueOf(bridge.lastConfig(device)).contains("fps=2"));
        assertThat(String.valueOf(bridge.lastConfig(device)))
            .contains("min-hits must be a number from 1 to 100");
        assertThat(manager.config("door").fps()).isEqualTo(2.0);
        assertThat(manager.config("door").minHits()).isEqualTo(3); // the local value stays
        await().atMost(Duration.ofSeconds(20)).until(() -> manager.get("door") != before);
        assertThat(manager.get("door")).isNotNull();
        // a setting the twin no longer names goes back to the local configuration
        bridge.desireConfig(device, Map.of("pipelines", Map.of("door", Map.of("enabled", false))));
        await().atMost(Duration.ofSeconds(20)).until(() -> manager.get("door") == null);
        assertThat(manager.config("door").fps()).isEqualTo(5.0);
      }
      // the desired state was kept on disk: off again, then a restart without the broker keeps it
      // off
      broker.stop();
      Map<String, Object> offline = new HashMap<>(props);
      try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, offline)) {
        var manager =
            agent
                .getApplicationContext()
                .getBean(dev.massedge.agent.pipeline.PipelineManager.class);
        await().atMost(Duration.ofSeconds(20)).until(() -> manager.get("door") == null);
        assertThat(manager.status().toString()).doesNotContain("name=door");
      }
    }
  }

  @Test
  void aVersionThatFailsItsHealthWindowIsRolledBack() throws Exception {
    try (Broker broker = Broker.embedded();
        Bridge bridge = new Bridge(broker.url(), tmp)) {
      SignedPackage v2 =
          bridge.publish(Bridge.variant("face-blazeface-128", tmp.resolve("v2"), "2"));
      String device = "cam-rollback";
      // a latency bound no version can meet: 0.001x the previous version's median
      try (EmbeddedServer agent =
          ApplicationContext.run(
              EmbeddedServer.class, agentProps(broker.url(), tmp, device, bridge, 0.001))) {
        ModelRegistry models = agent.getApplicationContext().getBean(ModelRegistry.class);
        await().atMost(Duration.ofSeconds(20)).until(() -> bridge.status.containsKey(device));
        bridge.desire(device, "face-short", v2);
        await()
            .atMost(Duration.ofSeconds(60))
            .until(
                () -> {
                  SyncMessage.ModelState s = bridge.last(device, "face-short");
                  return s != null && s.state().equals("rolled_back");
                });
        SyncMessage.ModelState s = bridge.last(device, "face-short");
        assertThat(s.active()).isEqualTo("1");
        assertThat(s.error()).startsWith("health_window_failed").contains("median latency");
        assertThat(models.require("face-short", null).version()).isEqualTo("1");
        assertThat(infer(agent)).contains("\"model_version\":\"1\"");
      }
    }
  }
}
