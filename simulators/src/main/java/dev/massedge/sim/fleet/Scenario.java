package dev.massedge.sim.fleet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.Yaml;

/**
 * What a fleet simulation runs, from a YAML file (docs/simulators.md has an example).
 *
 * @param devices how many virtual devices
 * @param prefix their ids: {@code <prefix>-0001} …
 * @param tags the tags the simulator gives them at the bridge
 * @param broker the MQTT broker the devices connect to
 * @param model the model slot the devices run and the rollout changes
 * @param models the versions each device starts with
 * @param telemetryIntervalMillis how often each device sends a metrics batch
 * @param metricsPerBatch metrics in a batch
 * @param successRate the share of activations that succeed
 * @param activationMinMillis an activation takes at least this long …
 * @param activationMaxMillis … and at most this long
 * @param rolloutVersion the version the rollout brings (null: no rollout)
 * @param phases the rollout's phases (cumulative percentages)
 * @param soakSeconds the rollout's soak time per phase
 * @param failureThreshold the share of a phase's devices that may fail
 * @param timeoutSeconds how long the simulation may take
 * @param holdSeconds how long the fleet keeps sending telemetry after the rollout (or after coming
 *     online), while the bridge's ingest rate is measured
 * @param rolloutSizeBytes when positive, the simulator makes the rollout's version itself: the
 *     bundled model padded with an unused, incompressible initializer to this size, uploaded unless
 *     the catalog has the version
 */
public record Scenario(
    int devices,
    String prefix,
    List<String> tags,
    String broker,
    String model,
    Map<String, String> models,
    long telemetryIntervalMillis,
    int metricsPerBatch,
    double successRate,
    long activationMinMillis,
    long activationMaxMillis,
    String rolloutVersion,
    List<Integer> phases,
    int soakSeconds,
    double failureThreshold,
    int timeoutSeconds,
    int holdSeconds,
    long rolloutSizeBytes) {

  @SuppressWarnings("unchecked")
  public static Scenario read(Path yaml) throws IOException {
    Map<String, Object> m = new Yaml().load(Files.readString(yaml));
    return from(m == null ? Map.of() : m);
  }

  @SuppressWarnings("unchecked")
  static Scenario from(Map<String, Object> m) {
    Map<String, Object> fleet = (Map<String, Object>) m.getOrDefault("fleet", Map.of());
    Map<String, Object> tel = (Map<String, Object>) m.getOrDefault("telemetry", Map.of());
    Map<String, Object> act = (Map<String, Object>) m.getOrDefault("activation", Map.of());
    Map<String, Object> roll = (Map<String, Object>) m.get("rollout");
    Map<String, String> models = new LinkedHashMap<>();
    ((Map<String, Object>) fleet.getOrDefault("models", Map.of("face-short", "1")))
        .forEach((k, v) -> models.put(k, String.valueOf(v)));
    Scenario s =
        new Scenario(
            ((Number) fleet.getOrDefault("devices", 100)).intValue(),
            String.valueOf(fleet.getOrDefault("prefix", "sim")),
            (List<String>) fleet.getOrDefault("tags", List.of("sim")),
            String.valueOf(m.getOrDefault("broker", "tcp://127.0.0.1:1883")),
            String.valueOf(fleet.getOrDefault("model", "face-short")),
            models,
            ((Number) tel.getOrDefault("interval-ms", 10_000)).longValue(),
            ((Number) tel.getOrDefault("metrics", 10)).intValue(),
            ((Number) act.getOrDefault("success-rate", 1.0)).doubleValue(),
            ((Number) act.getOrDefault("min-ms", 200)).longValue(),
            ((Number) act.getOrDefault("max-ms", 2000)).longValue(),
            roll == null ? null : String.valueOf(roll.get("version")),
            roll == null
                ? List.of(100)
                : (List<Integer>) roll.getOrDefault("phases", List.of(1, 10, 50, 100)),
            roll == null ? 0 : ((Number) roll.getOrDefault("soak-seconds", 5)).intValue(),
            roll == null ? 0 : ((Number) roll.getOrDefault("failure-threshold", 0.0)).doubleValue(),
            ((Number) m.getOrDefault("timeout-seconds", 600)).intValue(),
            ((Number) m.getOrDefault("hold-seconds", 0)).intValue(),
            roll == null ? 0 : ((Number) roll.getOrDefault("size-bytes", 0)).longValue());
    if (s.devices() < 1 || s.metricsPerBatch() < 3 || s.telemetryIntervalMillis() < 100) {
      throw new IllegalArgumentException(
          "scenario: fleet.devices ≥ 1, telemetry.metrics ≥ 3, telemetry.interval-ms ≥ 100");
    }
    if (s.successRate() < 0
        || s.successRate() > 1
        || s.activationMaxMillis() < s.activationMinMillis()) {
      throw new IllegalArgumentException(
          "scenario: activation.success-rate in [0, 1], activation.max-ms ≥ min-ms");
    }
    return s;
  }
}
