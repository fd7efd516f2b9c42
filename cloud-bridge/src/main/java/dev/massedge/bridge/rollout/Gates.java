package dev.massedge.bridge.rollout;

/**
 * When a phase may advance, and when it must stop.
 *
 * @param successThreshold share of the phase's devices that must run the new version
 * @param failureThreshold share of the phase's devices that failed beyond which the rollout pauses
 *     and the phase is rolled back
 * @param maxErrorRate inference errors per call of the new version on the phase's devices
 * @param maxLatencyRatio the new version's p95 latency over the previous version's on the same
 *     devices
 * @param maxDetectionChange relative change of faces in view per sample, before vs after
 * @param soakSeconds how long the gates must hold before the next phase starts
 */
public record Gates(
    double successThreshold,
    double failureThreshold,
    double maxErrorRate,
    double maxLatencyRatio,
    double maxDetectionChange,
    long soakSeconds) {

  public static final Gates DEFAULTS = new Gates(1.0, 0.0, 0.05, 1.5, 0.5, 30);

  public Gates {
    if (successThreshold <= 0 || successThreshold > 1) {
      throw new IllegalArgumentException("gates.successThreshold must be in (0, 1]");
    }
    if (failureThreshold < 0 || failureThreshold >= 1) {
      throw new IllegalArgumentException("gates.failureThreshold must be in [0, 1)");
    }
    if (maxErrorRate < 0 || maxLatencyRatio <= 0 || maxDetectionChange < 0 || soakSeconds < 0) {
      throw new IllegalArgumentException("gates: bounds must not be negative");
    }
  }
}
