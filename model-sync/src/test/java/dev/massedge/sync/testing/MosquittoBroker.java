package dev.massedge.sync.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** A real Mosquitto (Debian's package) on a free loopback port. */
final class MosquittoBroker implements Broker {
  private final int port;
  private final Path conf;
  private Process process;

  MosquittoBroker(int port) throws Exception {
    this.port = port;
    conf = Files.createTempFile("mosquitto", ".conf");
    Path data = Files.createTempDirectory("mosquitto-data");
    // persistence on, as in production: sessions and their queued QoS 1 messages survive a restart
    Files.writeString(
        conf,
        "listener "
            + port
            + " 127.0.0.1\nset_tcp_nodelay true\nallow_anonymous true\npersistence true\npersistence_location "
            + data
            + "/\nmax_queued_messages 1000000\nautosave_interval 1\n");
    start();
  }

  @Override
  public String name() {
    return "mosquitto";
  }

  @Override
  public int port() {
    return port;
  }

  @Override
  public void start() throws Exception {
    String bin =
        Files.isExecutable(Path.of("/usr/sbin/mosquitto")) ? "/usr/sbin/mosquitto" : "mosquitto";
    process =
        new ProcessBuilder(bin, "-c", conf.toString())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    try {
      Broker.awaitPort(port, true, "mosquitto (apt-get install mosquitto)");
    } catch (IllegalStateException e) {
      process.destroyForcibly();
      throw e;
    }
  }

  @Override
  public void stop() throws Exception {
    process.destroy();
    process.waitFor(10, TimeUnit.SECONDS);
    Broker.awaitPort(port, false, "mosquitto");
  }

  @Override
  public void close() {
    process.destroy();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return name();
  }
}
