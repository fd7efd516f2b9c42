package dev.massedge.sync.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;

/** A real MQTT 5 broker on a free loopback port: embedded HiveMQ CE, or Mosquitto. */
public interface Broker extends AutoCloseable {
  String name();

  int port();

  default String url() {
    return "tcp://127.0.0.1:" + port();
  }

  /** Stops the broker (its clients lose the connection); {@link #start} brings it back. */
  void stop() throws Exception;

  void start() throws Exception;

  @Override
  void close();

  static Broker embedded() throws Exception {
    return new EmbeddedBroker(freePort());
  }

  static Broker mosquitto() throws Exception {
    return new MosquittoBroker(freePort());
  }

  /** Mosquitto on a given port (a test that starts its client before its broker). */
  static Broker mosquitto(int port) throws Exception {
    return new MosquittoBroker(port);
  }

  /** By name, for parameterized tests: "embedded" or "mosquitto". */
  static Broker of(String name) throws Exception {
    return name.equals("mosquitto") ? mosquitto() : embedded();
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static void awaitPort(int port, boolean open, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      boolean isOpen;
      try (Socket ignored = new Socket("127.0.0.1", port)) {
        isOpen = true;
      } catch (IOException e) {
        isOpen = false;
      }
      if (isOpen == open) {
        return;
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException(
        what + " did not " + (open ? "start" : "stop") + " on port " + port);
  }
}
