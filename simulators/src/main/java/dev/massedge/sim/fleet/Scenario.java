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
 * @param outboxBatches telemetry batches a device keeps unconfirmed; over it the oldest is dropped
 *     and counted
 * @param faults what goes wrong, and when (empty: nothing; the devices then connect straight to the
 *     broker)
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
    long rolloutSizeBytes,
    int outboxBatches,
    List<Fault> faults) {

  /** The kinds of fault a scenario can schedule. */
  public static final List<String> FAULT_KINDS =
      List.of("cut", "latency", "bandwidth", "reset", "crash");

  /**
   * A fault on a share of the fleet — {@code share} of it from {@code from} (both in twentieths of
   * the fleet: the fault proxy's lanes), so that faults can hit the same devices or different ones
   * — {@code at} seconds after the rollout starts (after the fleet is online when there is no
   * rollout), lasting {@code seconds}: {@code cut} (the network is gone: connections dropped, new
   * ones refused), {@code latency} ({@code ms} plus up to {@code jitter-ms}, each way), {@code
   * bandwidth} ({@code bytes-per-second} each way per connection), {@code reset} (every open
   * connection reset once; no duration), {@code crash} (the devices die — the broker sends their
   * wills — and boot again after {@code seconds}).
   */
  public record Fault(
      double at,
      String kind,
      double from,
      double share,
      double seconds,
      long millis,
      long jitterMillis,
      long bytesPerSecond) {

    /** One line for the log and the report. */
    public String describe() {
      String what =
          switch (kind) {
            case "latency" -> "latency " + millis + "–" + (millis + jitterMillis) + " ms";
            case "bandwidth" -> "bandwidth " + bytesPerSecond + " B/s";
            default -> kind;
          };
      return String.format(
          java.util.Locale.ROOT,
          "%s on %.0f %% of the fleet from %.0f %%%s",
          what,
          share * 100,
          from * 100,
          kind.equals("reset") ? "" : String.format(java.util.Locale.ROOT, " for %.0f s", seconds));
    }
  }

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
            roll == null ? 0 : ((Number) roll.getOrDefault("size-bytes", 0)).longValue(),
            ((Number) tel.getOrDefault("outbox-batches", 1000)).intValue(),
            faults((List<Map<String, Object>>) m.getOrDefault("faults", List.of())));
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
    if (s.outboxBatches() < 1) {
      throw new IllegalArgumentException("scenario: telemetry.outbox-batches ≥ 1");
    }
    return s;
  }

  private static List<Fault> faults(List<Map<String, Object>> list) {
    List<Fault> faults = new java.util.ArrayList<>();
    for (Map<String, Object> f : list) {
      String kind = String.valueOf(f.get("kind"));
      if (!FAULT_KINDS.contains(kind)) {
        throw new IllegalArgumentException(
            "scenario: faults["
                + faults.size()
                + "].kind is one of "
                + FAULT_KINDS
                + ", not "
                + kind);
      }
      Fault fault =
          new Fault(
              ((Number) f.getOrDefault("at", 0)).doubleValue(),
              kind,
              ((Number) f.getOrDefault("from", 0.0)).doubleValue(),
              ((Number) f.getOrDefault("share", 1.0)).doubleValue(),
              ((Number) f.getOrDefault("seconds", 10)).doubleValue(),
              ((Number) f.getOrDefault("ms", 0)).longValue(),
              ((Number) f.getOrDefault("jitter-ms", 0)).longValue(),
              ((Number) f.getOrDefault("bytes-per-second", 0)).longValue());
      if (fault.at() < 0
          || fault.from() < 0
          || fault.from() >= 1
          || fault.share() <= 0
          || fault.share() > 1
          || fault.seconds() <= 0
          || fault.millis() < 0
          || fault.jitterMillis() < 0
          || (kind.equals("latency") && fault.millis() + fault.jitterMillis() == 0)
          || (kind.equals("bandwidth") && fault.bytesPerSecond() <= 0)) {
        throw new IllegalArgumentException(
            "scenario: faults["
                + faults.size()
                + "]: at ≥ 0, from in [0, 1), share in (0, 1], seconds > 0; latency needs ms or jitter-ms,"
                + " bandwidth needs bytes-per-second > 0");
      }
      faults.add(fault);
    }
    return List.copyOf(faults);
  }
}
