package dev.massedge.sim.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.massedge.bridge.testing.Api;
import dev.massedge.sim.FleetProcesses;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet simulator against the packaged bridge on its embedded broker: 200 virtual devices come
 * online, send telemetry, and take a rollout (phases 10 % → 100 %) with one activation in ten
 * failing — the rollout pauses and rolls the phase back; then a clean scenario completes, every
 * device having fetched and hash-checked the whole package; then a rollout through the fault proxy
 * (latency, a cut, resets, crashes, a thin link) completes with every telemetry batch accounted
 * for. The report's files are written.
 */
class FleetSimulatorIT {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  static final String TOKEN = "simulator-admin-token-0123456789";
  @TempDir Path tmp;

  @Test
  void virtualDevicesTakeARolloutAndTheReportIsWritten() throws Exception {
    int mqtt = FleetProcesses.freePort();
    try (FleetProcesses.Running bridge =
        new FleetProcesses(ROOT)
            .bridge(
                tmp.resolve("bridge"),
                Map.of(
                    "mass.bridge.mqtt-port",
                    Integer.toString(mqtt),
                    "mass.bridge.admin-tokens",
                    TOKEN,
                    "mass.bridge.rollout-tick",
                    "250ms"))) {
      bridge.awaitHttp("/health", Duration.ofSeconds(90));
      Api api = new Api(bridge.url(), TOKEN);
      api.pushFaceShort(tmp, "1", "2", "3");
      long packageBytes = api.ok("/api/v1/models/face-short/2").path("sizeBytes").asLong();

      Scenario failing =
          Scenario.from(
              Map.of(
                  "broker", "tcp://127.0.0.1:" + mqtt,
                  "fleet", Map.of("devices", 200, "prefix", "flaky", "tags", List.of("flaky")),
                  "telemetry", Map.of("interval-ms", 1000, "metrics", 10),
                  "activation", Map.of("success-rate", 0.0, "min-ms", 100, "max-ms", 500),
                  "rollout", Map.of("version", "3", "phases", List.of(10, 100), "soak-seconds", 1),
                  "timeout-seconds", 120));
      ByteArrayOutputStream log = new ByteArrayOutputStream();
      FleetSimulator.Result bad =
          new FleetSimulator(
                  failing,
                  bridge.url(),
                  TOKEN,
                  tmp.resolve("report-flaky"),
                  new PrintStream(log, true, StandardCharsets.UTF_8))
              .run();
      assertThat(bad.online()).isEqualTo(200);
      assertThat(bad.rolloutState()).as(log.toString(StandardCharsets.UTF_8)).isEqualTo("paused");
      String reason = api.ok("/api/v1/rollouts/1").path("reason").asText();
      assertThat(reason).contains("failed to activate").contains("rolled back");
      assertThat(api.ok("/api/v1/rollouts/1").path("states").path("pending").asInt())
          .isEqualTo(180);
      Api.Reply aborted = api.post("/api/v1/rollouts/1/abort", Map.of());
      assertThat(aborted.status()).as(aborted.body().toString()).isEqualTo(200);

      Scenario clean =
          Scenario.from(
              Map.of(
                  "broker", "tcp://127.0.0.1:" + mqtt,
                  "fleet", Map.of("devices", 200, "prefix", "sim", "tags", List.of("sim")),
                  "telemetry", Map.of("interval-ms", 1000, "metrics", 10),
                  "activation", Map.of("success-rate", 1.0, "min-ms", 100, "max-ms", 500),
                  "rollout", Map.of("version", "2", "phases", List.of(10, 100), "soak-seconds", 1),
                  "timeout-seconds", 120));
      log.reset();
      Path report = tmp.resolve("report");
      FleetSimulator.Result ok =
          new FleetSimulator(
                  clean,
                  bridge.url(),
                  TOKEN,
                  report,
                  new PrintStream(log, true, StandardCharsets.UTF_8))
              .run();
      String out = log.toString(StandardCharsets.UTF_8);
      assertThat(ok.rolloutState())
          .as(out + String.join("\n", Files.readAllLines(report.resolve("devices.csv"))))
          .isEqualTo("completed");
      assertThat(ok.online()).isEqualTo(200);
      // every device fetched the signed manifest and every chunk of the package, each checked
      assertThat(ok.bytesPerDeviceMean()).isGreaterThanOrEqualTo(packageBytes);
      assertThat(ok.bytesPerDeviceMax()).isLessThan(packageBytes + 64 * 1024);
      assertThat(ok.telemetryConfirmed()).isPositive().isLessThanOrEqualTo(ok.telemetrySent());
      List<String> csv = Files.readAllLines(report.resolve("devices.csv"));
      assertThat(csv).hasSize(201);
      assertThat(csv.stream().skip(1).filter(l -> l.contains(",active,")).count()).isEqualTo(200);
      assertThat(Files.size(report.resolve("rollout.png"))).isGreaterThan(1000);
      assertThat(out).contains("| 200 | 200 | completed |");
      assertThat(api.ok("/api/v1/devices?tag=sim").size()).isEqualTo(200);
      assertThat(ok.accounting().lost()).isZero();
      assertThat(ok.accounting().stored()).isEqualTo(ok.accounting().sent());

      // the same rollout while the network misbehaves: everyone slow, a fifth cut off long enough
      // for their 4-batch outboxes to overflow, a third reset, a tenth crashed, a fifth on a thin
      // link — it completes, and every telemetry batch is stored or counted as dropped
      Scenario faulty =
          Scenario.from(
              Map.of(
                  "broker", "tcp://127.0.0.1:" + mqtt,
                  "fleet", Map.of("devices", 200, "prefix", "flt", "tags", List.of("flt")),
                  "telemetry", Map.of("interval-ms", 1000, "metrics", 10, "outbox-batches", 4),
                  "activation", Map.of("success-rate", 1.0, "min-ms", 100, "max-ms", 500),
                  "rollout", Map.of("version", "2", "phases", List.of(50, 100), "soak-seconds", 1),
                  "faults",
                      List.of(
                          Map.of(
                              "at",
                              0.5,
                              "kind",
                              "latency",
                              "ms",
                              50,
                              "jitter-ms",
                              150,
                              "seconds",
                              10),
                          Map.of("at", 1, "kind", "cut", "from", 0, "share", 0.2, "seconds", 10),
                          Map.of("at", 2, "kind", "reset", "from", 0.2, "share", 0.3),
                          Map.of("at", 3, "kind", "crash", "from", 0.5, "share", 0.1, "seconds", 4),
                          Map.of(
                              "at",
                              1,
                              "kind",
                              "bandwidth",
                              "from",
                              0.6,
                              "share",
                              0.2,
                              "bytes-per-second",
                              60000,
                              "seconds",
                              10)),
                  "timeout-seconds", 180));
      log.reset();
      FleetSimulator.Result f =
          new FleetSimulator(
                  faulty,
                  bridge.url(),
                  TOKEN,
                  tmp.resolve("report-faults"),
                  new PrintStream(log, true, StandardCharsets.UTF_8))
              .run();
      out = log.toString(StandardCharsets.UTF_8);
      System.out.println(out);
      assertThat(f.rolloutState()).as(out).isEqualTo("completed");
      assertThat(out).contains("fault: cut on 20 % of the fleet from 0 % for 10 s (40 devices)");
      assertThat(out).contains("fault: crash on 10 % of the fleet from 50 % for 4 s (20 devices)");
      FleetSimulator.Accounting acc = f.accounting();
      assertThat(acc.faults()).isEqualTo(5);
      assertThat(acc.lost()).as(out).isZero();
      assertThat(acc.unconfirmed()).as(out).isZero();
      // the cut devices' outboxes overflowed: dropped, and the bridge counted the drops it could
      // see (a batch stored just before its confirmation was lost is dropped on the device alone)
      assertThat(acc.droppedByDevices()).as(out).isPositive();
      assertThat(acc.droppedCountedByBridge())
          .as(out)
          .isPositive()
          .isLessThanOrEqualTo(acc.droppedByDevices());
      assertThat(acc.stored() + acc.droppedCountedByBridge()).isEqualTo(acc.sent());
      assertThat(acc.crashes()).isEqualTo(20);
      // the cut (40), the reset (60) and the crashed (20) devices came back on their own
      assertThat(acc.reconnects()).as(out).isGreaterThanOrEqualTo(40 + 60 + 20);
      assertThat(f.bytesPerDeviceMean()).isGreaterThanOrEqualTo(packageBytes);
      csv = Files.readAllLines(tmp.resolve("report-faults").resolve("devices.csv"));
      assertThat(csv.stream().skip(1).filter(l -> l.contains(",active,")).count())
          .as(out)
          .isEqualTo(200);
      assertThat(api.ok("/api/v1/devices?tag=flt").size()).isEqualTo(200);
    }
  }
}
