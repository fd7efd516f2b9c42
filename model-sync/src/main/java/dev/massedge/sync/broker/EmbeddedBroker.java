package dev.massedge.sync.broker;

import com.hivemq.embedded.EmbeddedExtension;
import com.hivemq.embedded.EmbeddedHiveMQ;
import com.hivemq.extension.sdk.api.ExtensionMain;
import com.hivemq.extension.sdk.api.auth.PublishAuthorizer;
import com.hivemq.extension.sdk.api.auth.SimpleAuthenticator;
import com.hivemq.extension.sdk.api.auth.SubscriptionAuthorizer;
import com.hivemq.extension.sdk.api.auth.parameter.PublishAuthorizerInput;
import com.hivemq.extension.sdk.api.auth.parameter.PublishAuthorizerOutput;
import com.hivemq.extension.sdk.api.auth.parameter.SimpleAuthInput;
import com.hivemq.extension.sdk.api.auth.parameter.SimpleAuthOutput;
import com.hivemq.extension.sdk.api.auth.parameter.SubscriptionAuthorizerInput;
import com.hivemq.extension.sdk.api.auth.parameter.SubscriptionAuthorizerOutput;
import com.hivemq.extension.sdk.api.packets.connect.ConnackReasonCode;
import com.hivemq.extension.sdk.api.packets.publish.AckReasonCode;
import com.hivemq.extension.sdk.api.packets.subscribe.SubackReasonCode;
import com.hivemq.extension.sdk.api.parameter.ExtensionStartInput;
import com.hivemq.extension.sdk.api.parameter.ExtensionStartOutput;
import com.hivemq.extension.sdk.api.parameter.ExtensionStopInput;
import com.hivemq.extension.sdk.api.parameter.ExtensionStopOutput;
import com.hivemq.extension.sdk.api.services.Services;
import dev.massedge.sync.contract.Topics;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded MQTT 5 broker (HiveMQ CE) of the single-machine default — the bridge's, and the
 * tests' — with the device ACL ({@link DeviceAcl}) enforced by an embedded extension, as Mosquitto
 * enforces the file {@link DeviceAcl#mosquittoAcl} renders.
 *
 * <p>Clients log in with a user name: the administrator's (the bridge, with the secret this broker
 * was made with) may do anything; every other user name is a device id, held to its own topics.
 * With a {@link PasswordFile} a device must prove its name with its password; without one
 * (development) the name is taken as claimed — the ACL still keeps honest devices apart, but does
 * not stop an impostor (docs/security.md). A client without a user name is refused.
 *
 * <p>HiveMQ is an optional dependency of model-sync: only the bridge (and tests) carry it.
 */
public final class EmbeddedBroker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedBroker.class);
  private static final String IDENTITY = "mass.identity";
  private static final String ADMIN = "mass.admin";

  /**
   * Who may connect: the administrator's user name and secret, the devices' passwords (null: names
   * as claimed), or no ACL at all ({@link #open()}, tests of other things and benchmarks).
   */
  public record Security(
      boolean acl, String adminUser, byte[] adminSecret, PasswordFile devicePasswords, Tls tls) {
    public Security(
        boolean acl, String adminUser, byte[] adminSecret, PasswordFile devicePasswords) {
      this(acl, adminUser, adminSecret, devicePasswords, null);
    }

    public static Security open() {
      return new Security(false, null, null, null, null);
    }

    public Security withTls(Tls t) {
      return new Security(acl, adminUser, adminSecret, devicePasswords, t);
    }
  }

  /**
   * A second listener, TLS with client certificates from the fleet CA ({@link DeviceCa}): the
   * certificate's common name is the client's identity (the device id, or the administrator's
   * name), a certificate on the CA's revocation list is refused (the list is read again when it
   * changes), an expired one or one from another CA fails the handshake.
   *
   * @param caDir the CA's folder: {@code ca.pem} and {@code crl.pem}
   * @param cert the broker's certificate (PEM), issued by the CA for the host names clients dial
   * @param key the broker's private key (PKCS#8 PEM)
   */
  public record Tls(int port, Path caDir, Path cert, Path key) {}

  private final Path home;
  private final String bind;
  private final int port;
  private final Security security;
  private final AtomicLong refusedConnects = new AtomicLong();
  private final AtomicLong refusedPublishes = new AtomicLong();
  private final AtomicLong refusedSubscriptions = new AtomicLong();
  private EmbeddedHiveMQ hivemq;
  private final RevocationList revoked;

  /** The CA's revocation list, read again whenever the file changes. */
  private static final class RevocationList {
    private final Path file;
    private long modified = -1;
    private java.security.cert.X509CRL crl;

    RevocationList(Path file) {
      this.file = file;
    }

    synchronized boolean revoked(java.security.cert.X509Certificate c) {
      try {
        long m = Files.getLastModifiedTime(file).toMillis();
        if (m != modified) {
          crl = Pem.readCrl(file);
          modified = m;
        }
      } catch (IOException e) {
        // no readable list: refuse rather than let a revoked certificate in
        log.warn("device CA revocation list {} unreadable: {}", file, e.getMessage());
        return true;
      }
      return crl.isRevoked(c);
    }
  }

  public EmbeddedBroker(Path home, String bind, int port, int maxQueue, Security security)
      throws IOException {
    this.home = home;
    this.bind = bind;
    this.port = port;
    this.security = security;
    Files.createDirectories(home.resolve("conf"));
    Files.createDirectories(home.resolve("data"));
    Files.createDirectories(home.resolve("extensions"));
    String tlsListener = "";
    Tls tls = security.tls();
    if (tls != null) {
      // key and trust stores made fresh from the PEM files, with a password for this run only
      String pw = new String(newSecret(), StandardCharsets.US_ASCII);
      Path keystore = home.resolve("conf/server.p12");
      Path truststore = home.resolve("conf/ca.p12");
      DeviceTls.writeStore(keystore, tls.cert(), tls.key(), pw);
      DeviceTls.writeStore(truststore, tls.caDir().resolve("ca.pem"), null, pw);
      tlsListener =
          """
            <tls-tcp-listener>
              <port>%d</port><bind-address>%s</bind-address>
              <tls>
                <keystore><path>%s</path><password>%s</password><private-key-password>%s</private-key-password></keystore>
                <truststore><path>%s</path><password>%s</password></truststore>
                <client-authentication-mode>REQUIRED</client-authentication-mode>
              </tls>
            </tls-tcp-listener>
          """
              .formatted(tls.port(), bind, keystore, pw, pw, truststore, pw);
      this.revoked = new RevocationList(tls.caDir().resolve("crl.pem"));
    } else {
      this.revoked = null;
    }
    // it carries the stores' password: readable by this process's user only
    dev.massedge.sync.io.Durable.replaceSecret(
        home.resolve("conf/config.xml"),
        """
        <?xml version="1.0"?>
        <hivemq>
          <listeners>
            <tcp-listener><port>%d</port><bind-address>%s</bind-address></tcp-listener>
        %s
          </listeners>
          <anonymous-usage-statistics><enabled>false</enabled></anonymous-usage-statistics>
          <mqtt><queued-messages><max-queue-size>%d</max-queue-size></queued-messages></mqtt>
        </hivemq>
        """
            .formatted(port, bind, tlsListener, maxQueue)
            .getBytes(StandardCharsets.UTF_8));
    start();
  }

  /** Starts (again, after {@link #stop}) with the same data: sessions and retained messages. */
  public void start() throws IOException {
    var builder =
        EmbeddedHiveMQ.builder()
            .withConfigurationFolder(home.resolve("conf"))
            .withDataFolder(home.resolve("data"))
            .withExtensionsFolder(home.resolve("extensions"))
            .withoutLoggingBootstrap();
    if (security.acl() || security.adminUser() != null) {
      builder.withEmbeddedExtension(aclExtension());
    }
    hivemq = builder.build();
    long t0 = System.nanoTime();
    try {
      hivemq.start().join();
    } catch (RuntimeException e) {
      throw new IOException(
          "the embedded MQTT broker could not listen on "
              + bind
              + ":"
              + port
              + " (set mass.bridge.mqtt-port, or mass.bridge.mqtt-url for an external broker): "
              + e.getMessage(),
          e);
    }
    log.info(
        "embedded MQTT 5 broker on {}:{} ({} ms; {})",
        bind,
        port,
        (System.nanoTime() - t0) / 1_000_000,
        !security.acl()
            ? "no ACL"
            : security.devicePasswords() == null
                ? "device ACL, device names as claimed"
                : "device ACL, " + security.devicePasswords().size() + " device passwords");
  }

  /** Stops the broker; its clients lose the connection. */
  public void stop() {
    try {
      hivemq.stop().join();
      hivemq.close();
    } catch (Exception e) {
      log.warn("embedded broker stop: {}", e.toString());
    }
  }

  public String url() {
    return "tcp://127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** Connections, publishes and subscriptions the ACL refused (for operations and tests). */
  public long[] refused() {
    return new long[] {refusedConnects.get(), refusedPublishes.get(), refusedSubscriptions.get()};
  }

  @Override
  public void close() {
    stop();
  }

  private EmbeddedExtension aclExtension() {
    SimpleAuthenticator authenticator = this::authenticate;
    Acl acl = new Acl();
    return EmbeddedExtension.builder()
        .withId("mass-edge-acl")
        .withName("Mass Edge device ACL")
        .withVersion("1")
        .withAuthor("Mass Edge")
        .withPriority(1000)
        .withStartPriority(1000)
        .withExtensionMain(
            new ExtensionMain() {
              @Override
              public void extensionStart(ExtensionStartInput in, ExtensionStartOutput out) {
                Services.securityRegistry().setAuthenticatorProvider(i -> authenticator);
                Services.securityRegistry().setAuthorizerProvider(i -> acl);
                // who sent it, stamped on every publish (a client's own claim is replaced), so
                // the bridge can check it against the topic's device id
                Services.initializerRegistry()
                    .setClientInitializer(
                        (input, client) ->
                            client.addPublishInboundInterceptor(
                                (publishIn, publishOut) -> {
                                  var props = publishOut.getPublishPacket().getUserProperties();
                                  props.removeName(Topics.SENDER_PROPERTY);
                                  publishIn
                                      .getConnectionInformation()
                                      .getConnectionAttributeStore()
                                      .getAsString(IDENTITY)
                                      .ifPresent(
                                          id -> props.addUserProperty(Topics.SENDER_PROPERTY, id));
                                }));
              }

              @Override
              public void extensionStop(ExtensionStopInput in, ExtensionStopOutput out) {}
            })
        .build();
  }

  /** Publishes and subscriptions, both checked against {@link DeviceAcl}. */
  private final class Acl implements PublishAuthorizer, SubscriptionAuthorizer {
    @Override
    public void authorizePublish(PublishAuthorizerInput in, PublishAuthorizerOutput out) {
      EmbeddedBroker.this.authorizePublish(in, out);
    }

    @Override
    public void authorizeSubscribe(
        SubscriptionAuthorizerInput in, SubscriptionAuthorizerOutput out) {
      EmbeddedBroker.this.authorizeSubscribe(in, out);
    }
  }

  private void authenticate(SimpleAuthInput in, SimpleAuthOutput out) {
    Optional<String> user = in.getConnectPacket().getUserName();
    byte[] password = in.getConnectPacket().getPassword().map(EmbeddedBroker::bytes).orElse(null);
    String client = in.getClientInformation().getClientId();
    var store = in.getConnectionInformation().getConnectionAttributeStore();
    if (!security.acl()) {
      // no ACL: everyone in, but a device's name is still stamped on what it sends
      user.filter(u -> Topics.DEVICE_ID.matcher(u).matches() && !u.equals(security.adminUser()))
          .ifPresent(u -> store.putAsString(IDENTITY, u));
      out.authenticateSuccessfully();
      return;
    }
    Optional<java.security.cert.X509Certificate> cert =
        in.getConnectionInformation()
            .getClientTlsInformation()
            .flatMap(t -> t.getClientCertificate());
    if (cert.isPresent()) {
      // the TLS listener: the certificate says who this is; the user name is not asked for
      java.security.cert.X509Certificate c = cert.get();
      String cn = commonName(c);
      if (revoked == null || revoked.revoked(c)) {
        refuse(
            out, client, ConnackReasonCode.NOT_AUTHORIZED, "certificate of " + cn + " is revoked");
        return;
      }
      if (cn != null && cn.equals(security.adminUser())) {
        store.putAsString(ADMIN, "true");
        out.authenticateSuccessfully();
        return;
      }
      if (cn == null || !Topics.DEVICE_ID.matcher(cn).matches()) {
        refuse(
            out,
            client,
            ConnackReasonCode.NOT_AUTHORIZED,
            "certificate common name '" + cn + "' is not a device id");
        return;
      }
      store.putAsString(IDENTITY, cn);
      out.authenticateSuccessfully();
      return;
    }
    if (user.isEmpty()) {
      refuse(
          out, client, ConnackReasonCode.NOT_AUTHORIZED, "a user name (the device id) is needed");
      return;
    }
    String u = user.get();
    if (security.adminUser() != null && security.adminUser().equals(u)) {
      if (password == null || !MessageDigest.isEqual(password, security.adminSecret())) {
        refuse(
            out, client, ConnackReasonCode.BAD_USER_NAME_OR_PASSWORD, "wrong administrator secret");
        return;
      }
      store.putAsString(ADMIN, "true");
      out.authenticateSuccessfully();
      return;
    }
    if (!Topics.DEVICE_ID.matcher(u).matches()) {
      refuse(
          out,
          client,
          ConnackReasonCode.BAD_USER_NAME_OR_PASSWORD,
          "user name '" + u + "' is not a device id");
      return;
    }
    PasswordFile passwords = security.devicePasswords();
    if (passwords != null && !passwords.verify(u, password)) {
      refuse(out, client, ConnackReasonCode.BAD_USER_NAME_OR_PASSWORD, "bad user name or password");
      return;
    }
    store.putAsString(IDENTITY, u);
    out.authenticateSuccessfully();
  }

  private void refuse(SimpleAuthOutput out, String client, ConnackReasonCode code, String why) {
    refusedConnects.incrementAndGet();
    log.warn("MQTT connect of client {} refused: {}", client, why); // never the password
    out.failAuthentication(code, why);
  }

  private void authorizePublish(PublishAuthorizerInput in, PublishAuthorizerOutput out) {
    var store = in.getConnectionInformation().getConnectionAttributeStore();
    if (!security.acl() || store.getAsString(ADMIN).isPresent()) {
      out.authorizeSuccessfully();
      return;
    }
    String device = store.getAsString(IDENTITY).orElse(null);
    String topic = in.getPublishPacket().getTopic();
    if (DeviceAcl.mayPublish(device, topic)) {
      out.authorizeSuccessfully();
    } else {
      refusedPublishes.incrementAndGet();
      log.warn("MQTT publish of {} on {} refused by the device ACL", device, topic);
      out.failAuthorization(
          AckReasonCode.NOT_AUTHORIZED, "device " + device + " may not publish on " + topic);
    }
  }

  private void authorizeSubscribe(
      SubscriptionAuthorizerInput in, SubscriptionAuthorizerOutput out) {
    var store = in.getConnectionInformation().getConnectionAttributeStore();
    if (!security.acl() || store.getAsString(ADMIN).isPresent()) {
      out.authorizeSuccessfully();
      return;
    }
    String device = store.getAsString(IDENTITY).orElse(null);
    String filter = in.getSubscription().getTopicFilter();
    if (DeviceAcl.maySubscribe(device, filter)) {
      out.authorizeSuccessfully();
    } else {
      refusedSubscriptions.incrementAndGet();
      log.warn("MQTT subscription of {} to {} refused by the device ACL", device, filter);
      out.failAuthorization(
          SubackReasonCode.NOT_AUTHORIZED, "device " + device + " may not subscribe to " + filter);
    }
  }

  /** The subject's common name, or null. */
  static String commonName(java.security.cert.X509Certificate c) {
    try {
      for (javax.naming.ldap.Rdn r :
          new javax.naming.ldap.LdapName(c.getSubjectX500Principal().getName()).getRdns()) {
        if (r.getType().equalsIgnoreCase("CN")) {
          return r.getValue().toString();
        }
      }
    } catch (javax.naming.InvalidNameException e) {
      return null;
    }
    return null;
  }

  private static byte[] bytes(ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    byte[] out = new byte[d.remaining()];
    d.get(out);
    return out;
  }

  /** A random administrator secret for a broker and its bridge in one process. */
  public static byte[] newSecret() {
    byte[] s = new byte[24];
    new java.security.SecureRandom().nextBytes(s);
    return java.util.HexFormat.of().formatHex(s).getBytes(StandardCharsets.UTF_8);
  }
}
