package dev.massedge.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.massedge.bridge.testing.Api;
import dev.massedge.inference.FineTune;
import dev.massedge.inference.TestAssets;
import dev.massedge.sync.testing.Broker;
import dev.massedge.sync.testing.ModelDirs;
import dev.massedge.sync.testing.TcpProxy;
import dev.massedge.sync.testing.TinyDisk;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.TestAbortedException;

/**
 * The fault scenarios, one after another on one running system: the packaged bridge and two
 * packaged camera agents on Mosquitto, the agents behind one TCP fault proxy and the bridge behind
 * another. Each scenario ends with the system converged (devices online, rollouts completed, every
 * agent on the rolled-out version) and an accounting of the telemetry: every record an agent put in
 * its outbox is stored by the bridge or counted as dropped, and records a full disk refused are
 * counted by the agent and reported. The table goes to {@code target/faults-report.md}.
 */
class FaultsIT {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  static final String TOKEN = "faults-admin-token-0123456789abcdef";
  static final HttpClient HTTP = HttpClient.newHttpClient();
  @TempDir Path tmp;

  private final List<String> report = new ArrayList<>();
  private final FleetProcesses fleet = new FleetProcesses(ROOT);
  private final FleetProcesses.Running[] agents = new FleetProcesses.Running[2];
  private Map<String, String> agentProps;
  private Api api;
  private long duplicatesBefore;

  @Test
  void theSystemConvergesAfterEachFaultAndAccountsForEveryRecord() throws Exception {
    List<AutoCloseable> closing = new ArrayList<>();
    try (Broker mosquitto = Broker.mosquitto();
        TcpProxy agentLink = new TcpProxy(mosquitto.port());
        TcpProxy bridgeLink = new TcpProxy(mosquitto.port())) {
      FleetProcesses.Running bridge =
          fleet.bridge(
              tmp.resolve("bridge"),
              Map.of(
                  "mass.bridge.mqtt-url",
                  bridgeLink.url(),
                  "mass.bridge.admin-tokens",
                  TOKEN,
                  "mass.bridge.rollout-tick",
                  "250ms"));
      closing.add(bridge);
      bridge.awaitHttp("/health", Duration.ofSeconds(60));
      api = new Api(bridge.url(), TOKEN);

      // the catalog: v1 as bundled; v2..v4 with 30 % of the last layers' weights retrained, so
      // every rollout moves real bytes
      Path v1 = TestAssets.model("face-blazeface-128");
      for (Path m : List.of(v1, version(v1, "2"), version(v1, "3"), version(v1, "4"))) {
        Api.Reply r = api.send("POST", "/api/v1/models", "application/zip", Demo.zip(m));
        assertThat(r.status()).as(r.body().toString()).isEqualTo(201);
      }
      String key = api.ok("/api/v1/fleet-key").path("publicKey").asText();

      // cam-2's outbox lives on a 2 MB file system that the full-disk scenario fills up
      TinyDisk disk = null;
      try {
        disk = TinyDisk.mount(tmp.resolve("cam-2/outbox"), 2 * 1024 * 1024);
        closing.add(disk);
      } catch (TestAbortedException notRoot) {
        System.err.println("full-disk scenario left out: " + notRoot.getMessage());
      }
      agentProps = FleetEndToEndIT.stillCamera(agentLink.url(), key, "3s");
      for (int i = 0; i < 2; i++) {
        startAgent(i);
      }
      closing.add(
          () -> {
            for (FleetProcesses.Running a : agents) {
              if (a != null) {
                a.close();
              }
            }
          });
      for (int i = 0; i < 2; i++) {
        await().atMost(Duration.ofSeconds(30)).until(online(device(i)));
        assertThat(
                api.put("/api/v1/devices/" + device(i) + "/tags", Map.of("tags", List.of("cam")))
                    .status())
            .isEqualTo(200);
      }
      converged("start", "", System.nanoTime(), null);

      // 1. the broker restarts: everyone loses the connection for 10 s
      mosquitto.stop();
      Thread.sleep(10_000);
      mosquitto.start();
      converged("broker restart", "Mosquitto stopped 10 s", System.nanoTime(), null);

      // 2. a network cut between the agents and the broker
      agentLink.cut();
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> !online(device(0)).call() && !online(device(1)).call());
      Thread.sleep(5_000);
      agentLink.heal();
      converged("network cut", "agents cut off until the bridge saw them offline, +5 s", 0, null);

      // 3. latency, loss and resets on the agents' link during a rollout
      agentLink.latency(Duration.ofMillis(150), Duration.ofMillis(300));
      agentLink.bandwidth(48 * 1024);
      long rollout = rollout("2");
      for (int i = 0; i < 5; i++) {
        Thread.sleep(3_000);
        agentLink.reset();
      }
      agentLink.latency(Duration.ZERO, Duration.ZERO);
      agentLink.bandwidth(0);
      converged(
          "latency, loss, resets",
          "150–450 ms, 48 KB/s, 5 resets in 15 s, rollout of v2",
          System.nanoTime(),
          rollout);

      // 4. a slow chunk server: the bridge's own link is slow while a rollout needs its chunks
      bridgeLink.latency(Duration.ofMillis(400), Duration.ofMillis(200));
      bridgeLink.bandwidth(24 * 1024);
      rollout = rollout("3");
      long slow = rollout;
      await()
          .atMost(Duration.ofSeconds(90))
          .until(
              () ->
                  api.ok("/api/v1/rollouts/" + slow).path("states").path("succeeded").asInt() >= 1);
      bridgeLink.latency(Duration.ZERO, Duration.ZERO);
      bridgeLink.bandwidth(0);
      converged("slow chunk server", "bridge link 400–600 ms, 24 KB/s, rollout of v3", 0, rollout);

      // 5. a full disk under cam-2's outbox
      if (disk != null) {
        long failuresBefore = outbox(1).path("append_failures").asLong();
        disk.fill();
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> outbox(1).path("append_failures").asLong() >= failuresBefore + 3);
        Thread.sleep(3_000);
        disk.free();
        long refused = outbox(1).path("append_failures").asLong();
        converged("full disk", "cam-2's outbox file system full ~5 s", System.nanoTime(), null);
        // the agent told the cloud how many records the full disk refused
        await()
            .atMost(Duration.ofSeconds(30))
            .until(
                () -> {
                  JsonNode rows =
                      api.ok(
                          "/api/v1/telemetry?device=cam-2&name=outbox.append_failures&limit=10000");
                  return rows.size() > 0
                      && rows.get(rows.size() - 1).path("metric_value").asLong() >= refused;
                });
      }

      // 6. kill -9 of cam-1 in the middle of a rollout (while it fetches when we catch it)
      agentLink.bandwidth(16 * 1024);
      rollout = rollout("4");
      long seqBeforeKill = outbox(0).path("next_seq").asLong();
      await()
          .atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> !modelState(0).equals("active") || modelVersion(0).equals("4"));
      String caught = modelState(0) + " (v" + modelVersion(0) + " active)";
      agents[0].process().destroyForcibly().waitFor();
      agentLink.bandwidth(0);
      startAgent(0);
      converged("agent kill -9", "cam-1 killed while " + caught + ", restarted", 0, rollout);
      JsonNode acc = api.ok("/api/v1/devices/cam-1").path("telemetry");
      assertThat(acc.path("nextSeq").asLong()).isGreaterThanOrEqualTo(seqBeforeKill);

      String table =
          "| scenario | fault | converged in | records | stored | dropped (counted) | refused by"
              + " a full disk (counted) | repeats dropped by the bridge | models |\n"
              + "|---|---|---|---|---|---|---|---|---|\n"
              + String.join("\n", report)
              + "\n";
      Files.writeString(Path.of("target/faults-report.md"), table);
      System.out.println(table);
    } finally {
      for (int i = closing.size() - 1; i >= 0; i--) {
        closing.get(i).close();
      }
      // the processes' logs, for a failure's post-mortem
      Path logs = Files.createDirectories(Path.of("target/faults-logs"));
      try (var files = Files.walk(tmp)) {
        for (Path log :
            files
                .filter(f -> f.toString().endsWith(".log"))
                .filter(f -> !f.getFileName().toString().startsWith("seg-"))
                .toList()) {
          Files.copy(
              log,
              logs.resolve(log.getFileName()),
              java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  private Path version(Path v1, String v) throws Exception {
    Path dir = tmp.resolve("face-short-" + v);
    Path file = ModelDirs.asVersion(v1, dir, v);
    FineTune.lastLayers(v1.resolve("model.onnx"), file, 0.3, Long.parseLong(v));
    return dir;
  }

  private static double since(long start) {
    return (System.nanoTime() - start) / 1e9;
  }

  private static String device(int i) {
    return "cam-" + (i + 1);
  }

  private void startAgent(int i) throws Exception {
    agents[i] = fleet.agent(device(i), tmp.resolve(device(i)), agentProps);
    agents[i].awaitHttp("/v2/health/ready", Duration.ofSeconds(90));
  }

  private java.util.concurrent.Callable<Boolean> online(String id) {
    return () -> api.ok("/api/v1/devices/" + id).path("online").asBoolean();
  }

  private long rollout(String version) throws Exception {
    Map<String, Object> gates = Api.gates(2);
    // Not a latency test: two agents, the bridge, Mosquitto and the fault proxies share two
    // cores, and a rollout's p95 ratio swung past 3x in CI (3.05x). The gate has its own tests
    // (FleetTest); here it only watches for a model an order of magnitude slower.
    gates.put("maxLatencyRatio", 20.0);
    gates.put("maxDetectionChange", 1.0); // the retrained versions see fewer faces, on purpose
    return api.startRollout("face-short", version, "cam", List.of(100), gates);
  }

  private JsonNode outbox(int i) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(agents[i].url() + "/health")).build(),
            HttpResponse.BodyHandlers.ofString());
    return Api.JSON.readTree(r.body()).path("details").path("sync").path("details").path("outbox");
  }

  private JsonNode faceShort(int i) throws Exception {
    return api.ok("/api/v1/devices/" + device(i)).path("models").path("face-short");
  }

  private String modelState(int i) throws Exception {
    return faceShort(i).path("state").asText();
  }

  private String modelVersion(int i) throws Exception {
    return faceShort(i).path("active").asText();
  }

  /**
   * Waits until the system converged after a fault that ended at {@code since} (0: now): both
   * devices online, the rollout (if any) completed and both on its version, and every record the
   * agents had appended when we looked stored or counted; then checks the accounting and adds a
   * report row.
   */
  private void converged(String scenario, String fault, long since, Long rollout) throws Exception {
    long start = since == 0 ? System.nanoTime() : since;
    long[] appended = new long[2];
    if (rollout != null) {
      await()
          .atMost(Duration.ofSeconds(180))
          .pollInterval(Duration.ofMillis(500))
          .until(
              () -> {
                JsonNode r = api.ok("/api/v1/rollouts/" + rollout);
                assertThat(r.path("state").asText()).as(r.toString()).isIn("running", "completed");
                return r.path("state").asText().equals("completed");
              });
    }
    for (int i = 0; i < 2; i++) {
      int d = i;
      await().atMost(Duration.ofSeconds(60)).until(online(device(d)));
      System.out.printf(
          Locale.ROOT, "%s: %s online after %.1f s%n", scenario, device(d), since(start));
      appended[d] = outbox(d).path("next_seq").asLong();
      await()
          .atMost(Duration.ofSeconds(120))
          .pollInterval(Duration.ofMillis(250))
          .until(
              () -> {
                JsonNode acc = api.ok("/api/v1/devices/" + device(d)).path("telemetry");
                return acc.path("nextSeq").asLong() >= appended[d]
                    && acc.path("pendingAhead").asLong() == 0;
              });
    }
    double seconds = since(start);
    long records = 0;
    long stored = 0;
    long dropped = 0;
    long refused = 0;
    StringBuilder models = new StringBuilder();
    for (int i = 0; i < 2; i++) {
      JsonNode acc = api.ok("/api/v1/devices/" + device(i)).path("telemetry");
      JsonNode box = outbox(i);
      long n = acc.path("nextSeq").asLong() - acc.path("firstSeq").asLong();
      // nothing lost: every sequence number the cloud passed is stored or counted as dropped
      assertThat(acc.path("received").asLong() + acc.path("droppedOnDevice").asLong())
          .as(device(i) + " " + acc)
          .isEqualTo(n);
      assertThat(acc.path("firstSeq").asLong()).isZero();
      assertThat(acc.path("droppedOnDevice").asLong()).isEqualTo(box.path("dropped").asLong());
      records += n;
      stored += acc.path("received").asLong();
      dropped += acc.path("droppedOnDevice").asLong();
      refused += box.path("append_failures").asLong();
      if (rollout != null) {
        String want = api.ok("/api/v1/rollouts/" + rollout).path("version").asText();
        assertThat(modelVersion(i)).isEqualTo(want);
        assertThat(modelState(i)).isEqualTo("active");
      }
      models.append(i == 0 ? "" : ", ").append(modelVersion(i));
    }
    long duplicates = api.ok("/api/v1/overview").path("telemetry").path("duplicates").asLong();
    report.add(
        String.format(
            Locale.ROOT,
            "| %s | %s | %.1f s | %d | %d | %d | %d | %d | v%s |",
            scenario,
            fault,
            seconds,
            records,
            stored,
            dropped,
            refused,
            duplicates - duplicatesBefore,
            models));
    duplicatesBefore = duplicates;
    System.out.println("converged: " + report.get(report.size() - 1));
  }
}
