package dev.massedge.bridge.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.massedge.bridge.testing.BridgeApp;
import dev.massedge.bridge.testing.FakeDevice;
import dev.massedge.inference.TestAssets;
import dev.massedge.sync.testing.ModelDirs;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fleet CLI against a real bridge: push, tag, list, roll out with --watch, and its errors. */
class CliTest {
  @TempDir Path tmp;

  record Run(int status, String out, String err) {}

  static Run cli(BridgeApp bridge, String token, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Map<String, String> env = new java.util.HashMap<>(Map.of("MASS_BRIDGE_URL", bridge.url()));
    if (token != null) {
      env.put("MASS_TOKEN", token);
    } else {
      env.put("MASS_BRIDGE_DATA", bridge.dataDir.toString());
    }
    int s =
        Cli.run(
            args,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            env);
    return new Run(s, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void pushTagListAndRollOutFromTheCommandLine() throws Exception {
    try (BridgeApp bridge = new BridgeApp(tmp.resolve("bridge"), null, null, Map.of())) {
      String admin = BridgeApp.ADMIN;
      for (String v : List.of("1", "2")) {
        Path dir = tmp.resolve("face-short-" + v);
        ModelDirs.asVersion(TestAssets.model("face-blazeface-128"), dir, v);
        Run r = cli(bridge, admin, "models", "push", dir.toString(), "--notes", "version " + v);
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("added face-short v" + v).contains("chunks");
      }
      Run models = cli(bridge, admin, "models", "ls");
      assertThat(models.out()).contains("MODEL").contains("version 2").contains("face-detection");

      List<FakeDevice> fleet = new ArrayList<>();
      for (int i = 1; i <= 2; i++) {
        FakeDevice d =
            new FakeDevice(
                "cli-" + i, bridge.mqttUrl, tmp.resolve("dev"), Map.of("face-short", "1"));
        fleet.add(d);
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> bridge.api().get("/api/v1/devices/" + d.id).status() == 200);
        assertThat(cli(bridge, admin, "devices", "tag", d.id, "camera", "site=hall").status())
            .isZero();
      }
      Run ls = cli(bridge, admin, "devices", "ls", "--tag", "camera");
      assertThat(ls.out()).contains("cli-1").contains("cli-2").contains("camera,site=hall");
      assertThat(ls.out()).contains("face-short@1").contains("online");

      Run rollout =
          cli(
              bridge,
              admin,
              "rollout",
              "start",
              "--model",
              "face-short",
              "--version",
              "2",
              "--tags",
              "camera",
              "--phases",
              "50,100",
              "--soak",
              "1",
              "--watch");
      assertThat(rollout.status()).as(rollout.out() + rollout.err()).isZero();
      assertThat(rollout.out())
          .contains("rollout 1 started")
          .contains("[##############################] 2/2")
          .contains("completed")
          .contains("PHASE")
          .contains("succeeded");
      assertThat(cli(bridge, admin, "rollout", "ls").out()).contains("completed");
      assertThat(cli(bridge, admin, "devices", "ls").out()).contains("face-short@2");

      // errors: what went wrong, and a non-zero status
      Run abort = cli(bridge, admin, "rollout", "abort", "1");
      assertThat(abort.status()).isEqualTo(1);
      assertThat(abort.err()).contains("rollout_finished");
      Run unknown = cli(bridge, admin, "rollout", "start", "--model", "nope", "--version", "1");
      assertThat(unknown.err()).contains("404").contains("model_unknown");
      Run viewer = cli(bridge, BridgeApp.VIEWER, "rollout", "pause", "1");
      assertThat(viewer.err()).contains("403").contains("forbidden");
      Run bad = cli(bridge, admin, "rollouts", "go");
      assertThat(bad.status()).isEqualTo(2);
      assertThat(bad.err()).contains("usage:");
      // no token given and none in the data directory (this bridge's tokens are configured)
      Run none = cli(bridge, null, "models", "ls");
      assertThat(none.status()).isOne();
      assertThat(none.err()).contains("401").contains("token_missing");
      for (FakeDevice d : fleet) {
        d.close();
      }
    }
  }
}
