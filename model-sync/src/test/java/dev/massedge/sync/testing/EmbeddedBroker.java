package dev.massedge.sync.testing;

import java.nio.file.Files;

/**
 * The embedded broker the bridge runs ({@link dev.massedge.sync.broker.EmbeddedBroker}, HiveMQ CE)
 * on a free loopback port, with or without the device ACL.
 */
final class EmbeddedBroker implements Broker {
  private final dev.massedge.sync.broker.EmbeddedBroker broker;
  private final java.nio.file.Path home;

  EmbeddedBroker(int port, dev.massedge.sync.broker.EmbeddedBroker.Security security)
      throws Exception {
    this.tlsPort = security.tls() == null ? -1 : security.tls().port();
    home = Files.createTempDirectory("hivemq");
    broker =
        new dev.massedge.sync.broker.EmbeddedBroker(home, "127.0.0.1", port, 1_000_000, security);
    Broker.awaitPort(port, true, "HiveMQ");
  }

  private final int tlsPort;

  /** The TLS listener when there is one, else the plain one. */
  @Override
  public String url() {
    return tlsPort > 0 ? "ssl://127.0.0.1:" + tlsPort : broker.url();
  }

  @Override
  public String name() {
    return "embedded";
  }

  @Override
  public int port() {
    return broker.port();
  }

  @Override
  public void start() throws Exception {
    broker.start();
    Broker.awaitPort(port(), true, "HiveMQ");
  }

  @Override
  public void stop() throws Exception {
    broker.stop();
    Broker.awaitPort(port(), false, "HiveMQ");
  }

  /** Stops the broker and removes its folder (HiveMQ's persistence: about 90 MB each). */
  @Override
  public void close() {
    broker.stop();
    try {
      dev.massedge.sync.io.Durable.deleteTree(home);
    } catch (java.io.IOException e) {
      System.err.println("could not remove " + home + ": " + e);
    }
  }

  @Override
  public String toString() {
    return name();
  }
}
