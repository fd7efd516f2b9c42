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
 * device having fetched and hash-checked the whole package. The report's files are written.
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
    }
  }
}
