package dev.massedge.bridge;

import dev.massedge.bridge.catalog.ChunkService;
import dev.massedge.bridge.fleet.DeviceRegistry;
import dev.massedge.bridge.fleet.Twins;
import dev.massedge.bridge.mqtt.BridgeLink;
import dev.massedge.bridge.rollout.RolloutEngine;
import dev.massedge.bridge.telemetry.TelemetryIngest;
import io.micronaut.context.event.StartupEvent;
import io.micronaut.runtime.event.annotation.EventListener;
import jakarta.inject.Singleton;

/** Connects to the broker once every part has subscribed (so none misses a retained message). */
@Singleton
public final class BridgeStarter {
  private final BridgeLink link;

  public BridgeStarter(
      BridgeLink link,
      DeviceRegistry registry,
      Twins twins,
      TelemetryIngest ingest,
      ChunkService chunks,
      RolloutEngine rollouts) {
    this.link = link;
  }

  @EventListener
  public void onStartup(StartupEvent e) {
    link.start();
  }
}
