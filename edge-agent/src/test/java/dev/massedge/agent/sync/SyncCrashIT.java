package dev.massedge.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.pkg.Hashes;
import dev.massedge.sync.pkg.ModelManifest;
import dev.massedge.sync.pkg.SignedPackage;
import dev.massedge.sync.testing.Broker;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged agent killed with SIGKILL at random moments while it fetches, verifies, activates
 * and commits model versions, again and again: after every restart the model it serves is the
 * bundled one or a store version whose files match their signed hashes, and inference works.
 */
class SyncCrashIT {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  static final int KILLS = Integer.getInteger("mass.test.kills", 24);
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  Process start(String broker, Bridge bridge, int port, Path dir) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String line : Files.readAllLines(ROOT.resolve("edge-agent/jvm.options"))) {
      if (!line.isBlank() && !line.startsWith("#")) {
        cmd.add(line.trim());
      }
    }
    cmd.addAll(
        List.of(
            "-Djava.io.tmpdir=" + dir,
            "-Dmicronaut.server.port=" + port,
            "-Dmass.agent.models-dir=" + ROOT.resolve("models"),
            "-Dmass.agent.device-id=crashy",
            "-Dmass.coap.enabled=false",
            "-Dmass.agent.api-auth=loopback",
            "-Dmass.agent.api-token-file=" + dir.resolve("api-token"),
            "-Dmass.sync.url=" + broker,
            "-Dmass.sync.store-dir=" + dir.resolve("store"),
            "-Dmass.sync.outbox-dir=" + dir.resolve("outbox"),
            "-Dmass.sync.trusted-keys=" + bridge.trustedKey(),
            "-Dmass.sync.bandwidth=100000",
            "-Dmass.sync.health-window=2s",
            "-Dmass.sync.latency-factor=1000",
            "-Dmass.sync.telemetry-interval=300ms",
            "-jar",
            ROOT.resolve("edge-agent/target/edge-agent.jar").toString()));
    return new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("agent.log").toFile()))
        .start();
  }

  /** The sequence numbers of the crashy agent's records the cloud received, in arrival order. */
  static List<Long> receivedSeqs(Bridge bridge) {
    return bridge.records.stream()
        .filter(r -> r.startsWith("crashy "))
        .map(r -> Long.parseLong(r.split(" ", 4)[2]))
        .toList();
  }

  static HttpResponse<String> infer(int port) throws Exception {
    String body =
        "{\"inputs\":[{\"name\":\"input:0\",\"datatype\":\"FP32\",\"shape\":[1,128,128,3],\"data\":"
            + SyncTest.zeros(128 * 128 * 3)
            + "}]}";
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/v2/models/face-short/infer"))
                .timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }

  /** The version served, once the agent answers; checks that it is whole. */
  String servedAndWhole(int port, Path store) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    HttpResponse<String> r = null;
    while (System.nanoTime() < deadline) {
      try {
        r = infer(port);
        if (r.statusCode() == 200) {
          break;
        }
      } catch (java.io.IOException notYet) {
        // starting
      }
      Thread.sleep(100);
    }
    assertThat(r).as("the agent answers /infer after a restart").isNotNull();
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    String version = JSON.readTree(r.body()).path("model_version").asText();
    if (!version.equals("1")) {
      Path dir = versionDir(store, version);
      assertThat(dir).as("a store directory for served version " + version).isNotNull();
      SignedPackage p = SignedPackage.parse(Files.readAllBytes(dir.resolve("package.json")), null);
      for (ModelManifest.FileEntry f : p.manifest().files()) {
        assertThat(Hashes.sha256(Files.readAllBytes(dir.resolve(f.path()))))
            .as("served version %s: %s matches its signed hash", version, f.path())
            .isEqualTo(f.sha256());
      }
    }
    return version;
  }

  static Path versionDir(Path store, String version) throws Exception {
    Path d = store.resolve("models/face-short");
    if (!Files.isDirectory(d)) {
      return null;
    }
    try (Stream<Path> s = Files.list(d)) {
      return s.filter(
              p ->
                  p.getFileName().toString().startsWith("v" + version + "-")
                      && !p.getFileName().toString().endsWith(".staging"))
          .findFirst()
          .orElse(null);
    }
  }

  static JsonNode outbox(int port) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build(),
                HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(r.body()).path("details").path("sync").path("details").path("outbox");
  }

  @Test
  void killedAtRandomPointsItAlwaysComesBackOnAVerifiedVersion() throws Exception {
    try (Broker broker = Broker.embedded();
        Bridge bridge = new Bridge(broker.url(), tmp)) {
      List<SignedPackage> versions = new ArrayList<>();
      for (int v = 2; v <= 5; v++) {
        versions.add(
            bridge.publish(
                Bridge.retrained(
                    "face-blazeface-128", tmp.resolve("v" + v), String.valueOf(v), 0.5)));
      }
      int port = Broker.freePort();
      Path dir = Files.createDirectories(tmp.resolve("agent"));
      Random random = new Random(42);
      Map<String, Integer> killedDuring = new TreeMap<>();
      Map<String, Integer> servedAfter = new TreeMap<>();
      Process agent = start(broker.url(), bridge, port, dir);
      try {
        servedAndWhole(port, dir.resolve("store"));
        for (int i = 0; i < KILLS; i++) {
          bridge.desire("crashy", "face-short", versions.get(i % versions.size()));
          Thread.sleep(100 + random.nextInt(3000));
          SyncMessage.ModelState s = bridge.last("crashy", "face-short");
          killedDuring.merge(s == null ? "idle" : s.state(), 1, Integer::sum);
          agent.destroyForcibly().waitFor(); // SIGKILL
          agent = start(broker.url(), bridge, port, dir);
          servedAfter.merge(servedAndWhole(port, dir.resolve("store")), 1, Integer::sum);
        }
        // left alone, it converges on what the twin asks for
        // (a version interrupted in its health window 3 times is given up, as a model that kills
        // the agent would be: so the last word is a version not yet tried)
        SignedPackage last =
            bridge.publish(Bridge.retrained("face-blazeface-128", tmp.resolve("v9"), "9", 0.5));
        bridge.desire("crashy", "face-short", last);
        await()
            .atMost(Duration.ofSeconds(120))
            .until(
                () -> {
                  SyncMessage.ModelState s = bridge.last("crashy", "face-short");
                  return s != null
                      && (s.state().equals("active") && last.manifest().version().equals(s.active())
                          || s.state().equals("failed"));
                });
        System.out.println(
            "killed during "
                + killedDuring
                + "; served after restart "
                + servedAfter
                + "; final "
                + bridge.last("crashy", "face-short"));
        assertThat(killedDuring.keySet())
            .as("kills landed in several phases")
            .hasSizeGreaterThanOrEqualTo(2);
        assertThat(bridge.last("crashy", "face-short").state()).isEqualTo("active");
        assertThat(servedAndWhole(port, dir.resolve("store"))).isEqualTo(last.manifest().version());

        // telemetry appended before every kill reached the cloud: once each, in order, none lost
        // (the agent keeps appending a metrics batch every 300 ms: what it had appended when we
        // looked must all arrive, in order, once each)
        long appended = outbox(port).path("next_seq").asLong();
        await()
            .atMost(Duration.ofSeconds(60))
            .until(
                () -> receivedSeqs(bridge).stream().filter(q -> q < appended).count() >= appended);
        List<Long> seqs = receivedSeqs(bridge).stream().filter(q -> q < appended).toList();
        assertThat(seqs)
            .containsExactlyElementsOf(
                java.util.stream.LongStream.range(0, appended).boxed().toList());
        long received = seqs.size();
        System.out.println(
            "outbox: "
                + appended
                + " records appended across "
                + KILLS
                + " kills, "
                + received
                + " received");
        assertThat(appended).isGreaterThan(KILLS);
        assertThat(received).isEqualTo(appended);
        assertThat(outbox(port).path("dropped").asLong()).isZero();
      } finally {
        agent.destroyForcibly().waitFor();
      }
    }
  }
}
