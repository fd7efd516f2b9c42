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
    return new EmbeddedBroker(freePort(), dev.massedge.sync.broker.EmbeddedBroker.Security.open());
  }

  /**
   * A broker that takes clients by their certificate from {@code ca} (TLS, client certificates
   * required, the common name as identity) and holds them to the device ACL: the embedded one's TLS
   * listener, or Mosquitto with {@code require_certificate} and {@code use_identity_as_username}.
   * {@code tls} holds the CA's files and the broker's {@code server.pem}/{@code server.key}; {@link
   * #url} is its {@code ssl://} address.
   */
  static Broker withCertificates(String name, java.nio.file.Path tls) throws Exception {
    if (name.equals("mosquitto")) {
      return new MosquittoBroker(freePort(), null, java.util.List.of(ADMIN), tls);
    }
    return new EmbeddedBroker(
        freePort(),
        new dev.massedge.sync.broker.EmbeddedBroker.Security(true, ADMIN, null, null)
            .withTls(
                new dev.massedge.sync.broker.EmbeddedBroker.Tls(
                    freePort(), tls, tls.resolve("server.pem"), tls.resolve("server.key"))));
  }

  /** The administrator who may do anything on a broker with the device ACL. */
  String ADMIN = "mass-bridge";

  /** Every device's and the administrator's password on a broker with the device ACL. */
  static String password(String user) {
    return "pw-" + user;
  }

  /**
   * A broker that holds every device to its own topics (docs/security.md): the embedded one with
   * its ACL extension, or Mosquitto with the ACL file {@code DeviceAcl} renders. {@code devices}
   * log in with {@link #password}; so does {@link #ADMIN}.
   */
  static Broker withDeviceAcl(String name, java.util.List<String> devices) throws Exception {
    java.nio.file.Path pw = java.nio.file.Files.createTempFile("mass-passwords", "");
    java.util.List<String> lines = new java.util.ArrayList<>();
    for (String d : devices) {
      lines.add(dev.massedge.sync.broker.PasswordFile.entry(d, password(d)));
    }
    if (name.equals("mosquitto")) {
      lines.add(dev.massedge.sync.broker.PasswordFile.entry(ADMIN, password(ADMIN)));
      java.nio.file.Files.write(pw, lines);
      return new MosquittoBroker(freePort(), pw, java.util.List.of(ADMIN));
    }
    java.nio.file.Files.write(pw, lines);
    return new EmbeddedBroker(
        freePort(),
        new dev.massedge.sync.broker.EmbeddedBroker.Security(
            true,
            ADMIN,
            password(ADMIN).getBytes(java.nio.charset.StandardCharsets.UTF_8),
            dev.massedge.sync.broker.PasswordFile.load(pw)));
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
