package dev.massedge.sim.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Scenario files: the shipped ones read, faults parsed, mistakes refused with the key named. */
class ScenarioTest {
  static final Path SCENARIOS = Path.of(System.getProperty("user.dir"), "scenarios");

  @Test
  void theShippedScenariosRead() throws Exception {
    Scenario faults = Scenario.read(SCENARIOS.resolve("faults-1000.yaml"));
    assertThat(faults.devices()).isEqualTo(1000);
    assertThat(faults.rolloutSizeBytes()).isEqualTo(1 << 20);
    assertThat(faults.faults())
        .extracting(Scenario.Fault::kind)
        .containsExactly("latency", "cut", "reset", "crash", "bandwidth");
    Scenario.Fault crash = faults.faults().get(3);
    assertThat(crash.from()).isEqualTo(0.7);
    assertThat(crash.share()).isEqualTo(0.1);
    assertThat(crash.seconds()).isEqualTo(10);
    assertThat(faults.faults().get(0).describe())
        .isEqualTo("latency 100–300 ms on 100 % of the fleet from 0 % for 40 s");
    for (String f :
        List.of("rollout-1000.yaml", "rollout-2mb-mosquitto.yaml", "telemetry-1000.yaml")) {
      Scenario s = Scenario.read(SCENARIOS.resolve(f));
      assertThat(s.faults()).as(f).isEmpty();
      assertThat(s.outboxBatches()).as(f).isEqualTo(1000);
    }
  }

  @Test
  void mistakesAreRefusedWithTheKeyNamed() {
    assertThatThrownBy(() -> Scenario.from(Map.of("faults", List.of(Map.of("kind", "flood")))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("faults[0].kind")
        .hasMessageContaining("flood");
    assertThatThrownBy(
            () ->
                Scenario.from(
                    Map.of(
                        "faults",
                        List.of(Map.of("kind", "cut"), Map.of("kind", "cut", "share", 1.5)))))
        .hasMessageContaining("faults[1]")
        .hasMessageContaining("share in (0, 1]");
    assertThatThrownBy(() -> Scenario.from(Map.of("faults", List.of(Map.of("kind", "latency")))))
        .hasMessageContaining("latency needs ms");
    assertThatThrownBy(() -> Scenario.from(Map.of("telemetry", Map.of("outbox-batches", 0))))
        .hasMessageContaining("telemetry.outbox-batches");
  }
}
