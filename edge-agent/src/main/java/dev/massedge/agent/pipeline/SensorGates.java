package dev.massedge.agent.pipeline;

import jakarta.inject.Singleton;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Gates opened by remote sensors (CoAP {@code POST /sensors/{id}}), by sensor id. */
@Singleton
public class SensorGates {
  private final Map<String, Gate.Remote> gates = new ConcurrentHashMap<>();

  public Gate.Remote gate(String sensor) {
    return gates.computeIfAbsent(sensor, s -> new Gate.Remote());
  }

  /** A sensor reported its state; returns whether any pipeline listens to it. */
  public boolean report(String sensor, boolean state) {
    Gate.Remote g = gates.get(sensor);
    if (g != null) {
      g.set(state);
    }
    return g != null;
  }
}
