package dev.massedge.bridge.catalog;

import dev.massedge.bridge.BridgeConfig;
import dev.massedge.bridge.mqtt.BridgeLink;
import dev.massedge.sync.delivery.ChunkServer;
import io.micronaut.context.annotation.Context;
import jakarta.annotation.PreDestroy;

/** Answers devices' chunk requests from the catalog's repository (a shared subscription). */
@Context
public final class ChunkService implements AutoCloseable {
  private final ChunkServer server;

  public ChunkService(BridgeLink bridge, ModelCatalog catalog, BridgeConfig config) {
    server = new ChunkServer(bridge.link(), catalog.repository(), config.chunkThreads());
  }

  public long bytesServed() {
    return server.bytesServed();
  }

  public long refused() {
    return server.refused();
  }

  @PreDestroy
  @Override
  public void close() {
    server.close();
  }
}
