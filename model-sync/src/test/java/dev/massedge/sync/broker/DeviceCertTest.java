package dev.massedge.sync.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.testing.Broker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocketFactory;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Device identity by X.509 client certificates from the fleet CA, over TLS, against Mosquitto and
 * the embedded broker: the certificate's common name is the device id the ACL holds it to; a
 * revoked, an expired, a foreign or no certificate cannot connect.
 */
class DeviceCertTest {
  @TempDir Path tmp;

  static SSLSocketFactory tls(Path ca, Path dir, String name) throws Exception {
    return DeviceTls.socketFactory(
        ca.resolve("ca.pem"), dir.resolve(name + ".pem"), dir.resolve(name + ".key"));
  }

  @Test
  void theCaIssuesRevokesAndKeepsItsKeyPrivate() throws Exception {
    Path ca = tmp.resolve("ca");
    DeviceCa c = DeviceCa.init(ca, "fleet CA", Duration.ofDays(3650));
    var cert =
        c.issueDevice(
            "cam-7", Instant.now(), Instant.now().plus(Duration.ofDays(365)), tmp.resolve("out"));
    assertThat(cert.getSubjectX500Principal().getName()).contains("CN=cam-7");
    cert.verify(c.certificate().getPublicKey());
    assertThat(
            java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(ca.resolve("ca.key"))))
        .isEqualTo("rw-------");
    assertThat(
            java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(tmp.resolve("out/cam-7.key"))))
        .isEqualTo("rw-------");
    assertThat(Pem.readCrl(ca.resolve("crl.pem")).isRevoked(cert)).isFalse();
    assertThat(c.revoke("cam-7")).isEqualTo(1);
    assertThat(Pem.readCrl(ca.resolve("crl.pem")).isRevoked(cert)).isTrue();
    assertThat(DeviceCa.load(ca).revoke("cam-7")).isZero(); // nothing valid left to revoke
    assertThatThrownBy(() -> DeviceCa.init(ca, "again", Duration.ofDays(1)))
        .hasMessageContaining("already holds a CA");
    assertThatThrownBy(() -> c.issueDevice("a/b", Instant.now(), Instant.now(), tmp))
        .hasMessageContaining("device id");
  }

  @ParameterizedTest
  @ValueSource(strings = {"embedded", "mosquitto"})
  void onlyValidCertificatesOfTheFleetConnectAndEachKeepsToItsOwnTopics(String name)
      throws Exception {
    Path dir = tmp.resolve("pki");
    Path devices = tmp.resolve("devices");
    DeviceCa ca = DeviceCa.init(dir, "fleet CA", Duration.ofDays(3650));
    ca.issueServer("server", List.of("127.0.0.1", "localhost"), Duration.ofDays(365), dir);
    Instant now = Instant.now();
    for (String d : List.of("cam-a", "cam-b", "cam-revoked")) {
      ca.issueDevice(d, now.minusSeconds(60), now.plus(Duration.ofDays(30)), devices);
    }
    ca.issueDevice(
        "cam-expired", now.minus(Duration.ofDays(30)), now.minus(Duration.ofDays(1)), devices);
    ca.issueDevice(Broker.ADMIN, now.minusSeconds(60), now.plus(Duration.ofDays(30)), devices);
    ca.revoke("cam-revoked");
    DeviceCa other = DeviceCa.init(tmp.resolve("other"), "someone else's CA", Duration.ofDays(10));
    other.issueDevice(
        "cam-a", now.minusSeconds(60), now.plus(Duration.ofDays(30)), tmp.resolve("forged"));

    try (Broker broker = Broker.withCertificates(name, dir)) {
      String url = broker.url();
      assertThat(url).startsWith("ssl://");
      try (DeviceAclTest.Client admin =
              new DeviceAclTest.Client(url, null, null, tls(dir, devices, Broker.ADMIN));
          DeviceAclTest.Client a =
              new DeviceAclTest.Client(url, null, null, tls(dir, devices, "cam-a"));
          DeviceAclTest.Client b =
              new DeviceAclTest.Client(url, null, null, tls(dir, devices, "cam-b"))) {
        assertThat(admin.subscribe("mass/v1/+/telemetry")).isLessThan(0x80);
        assertThat(b.subscribe(Topics.inferRequests("cam-b"))).isLessThan(0x80);
        // the certificate's name is the identity the ACL sees
        assertThat(a.publish(Topics.telemetry("cam-a"), "own")).isEqualTo(0);
        assertThat(admin.received.poll(10, TimeUnit.SECONDS))
            .isEqualTo(Topics.telemetry("cam-a") + " own");
        assertThat(a.publish(Topics.inferRequest("cam-b", "face"), "from a"))
            .isIn(DeviceAclTest.NOT_AUTHORIZED, DeviceAclTest.DISCONNECTED);
        assertThat(admin.publish(Topics.inferRequest("cam-b", "face"), "from the cloud"))
            .isLessThan(0x80);
        assertThat(b.received.poll(10, TimeUnit.SECONDS))
            .isEqualTo(Topics.inferRequest("cam-b", "face") + " from the cloud");
        assertThat(b.received).isEmpty();
      }
      // revoked, expired, another CA's, none at all: no connection
      for (SSLSocketFactory f :
          List.of(
              tls(dir, devices, "cam-revoked"),
              tls(dir, devices, "cam-expired"),
              tls(dir, tmp.resolve("forged"), "cam-a"),
              DeviceTls.socketFactory(dir.resolve("ca.pem"), null, null))) {
        assertThatThrownBy(() -> new DeviceAclTest.Client(url, null, null, f).close())
            .isInstanceOf(MqttException.class);
      }
    }
  }
}
