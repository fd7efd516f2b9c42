package dev.massedge.bridge;

import dev.massedge.bridge.catalog.ChunkService;
import dev.massedge.bridge.fleet.DeviceRegistry;
import dev.massedge.bridge.fleet.Twins;
import dev.massedge.bridge.mqtt.BridgeLink;
import dev.massedge.bridge.rollout.RolloutEngine;
import dev.massedge.bridge.telemetry.TelemetryIngest;
import io.micronaut.context.event.StartupEvent;
import io.micronaut.runtime.event.annotation.EventListener;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connects to the broker once every part has subscribed (so none misses a retained message), and
 * runs the housekeeping: unpublished twins again every 5 s, telemetry retention every hour. Its own
 * timer, stopped before the parts it calls are closed.
 */
@Singleton
public final class BridgeStarter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BridgeStarter.class);
  private final BridgeLink link;
  private final Twins twins;
  private final TelemetryIngest ingest;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "bridge-housekeeping");
            t.setDaemon(true);
            return t;
          });

  public BridgeStarter(
      BridgeLink link,
      DeviceRegistry registry,
      Twins twins,
      TelemetryIngest ingest,
      ChunkService chunks,
      RolloutEngine rollouts) {
    this.link = link;
    this.twins = twins;
    this.ingest = ingest;
  }

  @EventListener
  public void onStartup(StartupEvent e) {
    link.start();
    timer.scheduleWithFixedDelay(() -> safely(twins::publishPending), 5, 5, TimeUnit.SECONDS);
    timer.scheduleWithFixedDelay(() -> safely(ingest::applyRetention), 10, 3600, TimeUnit.SECONDS);
  }

  private static void safely(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      log.warn("housekeeping: {}", e.toString());
    }
  }

  @PreDestroy
  @Override
  public void close() {
    timer.shutdownNow();
  }
}
