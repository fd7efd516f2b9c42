package dev.massedge.sync.testing;

import dev.massedge.sync.broker.DeviceAcl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real Mosquitto (Debian's package) on a free loopback port. */
final class MosquittoBroker implements Broker {
  private final int port;
  private final Path conf;
  private Process process;

  MosquittoBroker(int port) throws Exception {
    this(port, null, List.of());
  }

  /**
   * With {@code passwords} (a mosquitto_passwd file): logins required, and the device ACL that
   * {@link DeviceAcl#mosquittoAcl} renders, {@code admins} exempt.
   */
  MosquittoBroker(int port, Path passwords, List<String> admins) throws Exception {
    this.port = port;
    conf = Files.createTempFile("mosquitto", ".conf");
    Path data = Files.createTempDirectory("mosquitto-data");
    // persistence on, as in production: sessions and their queued QoS 1 messages survive a restart
    Files.writeString(
        conf,
        "listener "
            + port
            + " 127.0.0.1\nset_tcp_nodelay true\npersistence true\npersistence_location "
            + data
            + "/\nmax_queued_messages 1000000\nautosave_interval 1\n"
            + (passwords == null ? "allow_anonymous true\n" : acl(passwords, admins)));
    start();
  }

  private static String acl(Path passwords, List<String> admins) throws java.io.IOException {
    Path acl = Files.createTempFile("mosquitto", ".acl");
    Files.writeString(acl, DeviceAcl.mosquittoAcl(admins));
    // mosquitto reads them after it dropped root for its own user
    var readable = java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--");
    Files.setPosixFilePermissions(acl, readable);
    Files.setPosixFilePermissions(passwords, readable);
    return "allow_anonymous false\npassword_file " + passwords + "\nacl_file " + acl + "\n";
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
