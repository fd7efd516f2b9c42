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
    this(port, passwords, admins, null);
  }

  /**
   * With {@code tls} (a folder with the fleet CA's {@code ca.pem} and {@code crl.pem} and the
   * broker's {@code server.pem} and {@code server.key}): TLS only, a client certificate required,
   * its common name the user name the ACL sees; no passwords.
   */
  MosquittoBroker(int port, Path passwords, List<String> admins, Path tls) throws Exception {
    this.port = port;
    this.tls = tls != null;
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
            + (tls != null
                ? tls(tls, admins)
                : passwords == null ? "allow_anonymous true\n" : acl(passwords, admins)));
    start();
  }

  private final boolean tls;

  @Override
  public String url() {
    return (tls ? "ssl" : "tcp") + "://127.0.0.1:" + port;
  }

  private static String tls(Path from, List<String> admins) throws java.io.IOException {
    // mosquitto reads them as its own user, after dropping root: copies it may reach
    var readable = java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--");
    Path dir = Files.createTempDirectory("mosquitto-tls");
    Files.setPosixFilePermissions(
        dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    for (String f : List.of("ca.pem", "crl.pem", "server.pem", "server.key")) {
      Files.copy(from.resolve(f), dir.resolve(f));
      Files.setPosixFilePermissions(dir.resolve(f), readable);
    }
    Path acl = Files.createTempFile("mosquitto", ".acl");
    Files.writeString(acl, DeviceAcl.mosquittoAcl(admins));
    Files.setPosixFilePermissions(acl, readable);
    return "cafile "
        + dir.resolve("ca.pem")
        + "\ncertfile "
        + dir.resolve("server.pem")
        + "\nkeyfile "
        + dir.resolve("server.key")
        + "\ncrlfile "
        + dir.resolve("crl.pem")
        + "\nrequire_certificate true\nuse_identity_as_username true\nallow_anonymous false\nacl_file "
        + acl
        + "\n";
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
