package dev.massedge.sync.link;

import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import javax.net.SocketFactory;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttActionListener;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttClientException;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One MQTT 5 connection (Eclipse Paho) owned by its application: it starts whether or not the
 * broker is there and keeps trying in the background (an edge device must boot offline);
 * subscriptions are remembered and made again on every connection; the birth message is published
 * on every connection and the will says offline; publishes complete when the broker has them (QoS 1
 * PUBACK); requests carry an MQTT 5 response topic and correlation data and complete with the
 * matching response or time out. Handlers run on one dispatch thread, in arrival order.
 */
public final class MqttLink implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MqttLink.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  /** How long a publish waits for a free slot when the broker's receive maximum is reached. */
  private static final long MAX_INFLIGHT_WAIT_NANOS = 30_000_000_000L;

  /** Whether Paho decodes received payloads in bulk ({@link #pahoReadsInBulk}); warned once. */
  private static final boolean PAHO_READS_IN_BULK = pahoReadsInBulk();

  private static final java.util.concurrent.atomic.AtomicBoolean SLOW_READS_WARNED =
      new java.util.concurrent.atomic.AtomicBoolean();

  /** What to connect to and as whom. {@code birth} is asked for on every connection. */
  public record Options(
      String url,
      String clientId,
      String username,
      byte[] password,
      SocketFactory socketFactory,
      String statusTopic,
      Supplier<byte[]> birth,
      byte[] will,
      int keepAliveSeconds,
      boolean persistentSession) {
    public Options(String url, String clientId) {
      this(url, clientId, null, null, null, null, null, null, 30, false);
    }

    /**
     * A session the broker keeps for a day while this client is away (clean start off): QoS 1
     * messages for its subscriptions wait at the broker. For receivers that must not miss any.
     */
    public Options persistent() {
      return new Options(
          url,
          clientId,
          username,
          password,
          socketFactory,
          statusTopic,
          birth,
          will,
          keepAliveSeconds,
          true);
    }

    public Options withStatus(String topic, Supplier<byte[]> birth, byte[] will) {
      return new Options(
          url,
          clientId,
          username,
          password,
          socketFactory,
          topic,
          birth,
          will,
          keepAliveSeconds,
          persistentSession);
    }

    public Options withCredentials(String user, byte[] pass) {
      return new Options(
          url,
          clientId,
          user,
          pass,
          socketFactory,
          statusTopic,
          birth,
          will,
          keepAliveSeconds,
          persistentSession);
    }

    public Options withSocketFactory(SocketFactory f) {
      return new Options(
          url,
          clientId,
          username,
          password,
          f,
          statusTopic,
          birth,
          will,
          keepAliveSeconds,
          persistentSession);
    }
  }

  /** Receives a message for a subscription. */
  public interface Handler {
    void onMessage(String topic, MqttMessage message) throws Exception;
  }

  private record Subscription(String filter, String match, int qos, Handler handler) {}

  /** Seconds a connection attempt may wait for the broker's CONNACK before it is given up. */
  static final long CONNECT_WATCHDOG_S = 20;

  /** Publishes waiting for their acknowledgement: failed when the connection drops. */
  private final Set<CompletableFuture<Void>> publishing = ConcurrentHashMap.newKeySet();

  private final Options options;
  // a fresh Paho client per connection: Paho 1.2.5 keeps its outgoing topic-alias table across a
  // reconnection of the same client, and Mosquitto (max_topic_alias 10 by default) then drops the
  // connection on the first aliased publish ("Topic alias in PUBLISH could not be mapped")
  private volatile MqttAsyncClient client;
  private volatile boolean used;
  private final Object publishLock = new Object();
  private final List<Subscription> subscriptions = new CopyOnWriteArrayList<>();
  private final Map<ByteBuffer, CompletableFuture<MqttMessage>> requests =
      new ConcurrentHashMap<>();
  private final List<Runnable> onConnect = new CopyOnWriteArrayList<>();
  private final ExecutorService dispatch;
  private final ScheduledExecutorService timer;
  private volatile String lastError = "not connected yet";
  private volatile boolean closed;

  public MqttLink(Options options) {
    this.options = options;
    client = newClient();
    String name = "mqtt-" + options.clientId();
    dispatch =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, name + "-dispatch");
              t.setDaemon(true);
              return t;
            });
    timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, name + "-timer");
              t.setDaemon(true);
              return t;
            });
  }

  private MqttAsyncClient newClient() {
    try {
      MqttAsyncClient c =
          new MqttAsyncClient(options.url(), options.clientId(), new MemoryPersistence());
      c.setCallback(new Callback(c));
      return c;
    } catch (MqttException e) {
      throw new IllegalArgumentException(
          "MQTT url '" + options.url() + "' is not usable: " + e.getMessage(), e);
    }
  }

  /** Connects in the background; returns at once. Failures are retried with backoff. */
  public MqttLink start() {
    if (!PAHO_READS_IN_BULK && SLOW_READS_WARNED.compareAndSet(false, true)) {
      log.warn(
          "Paho's own CountingInputStream was loaded ahead of model-sync's: received payloads are"
              + " decoded a byte at a time (correct, but several times slower). Put model-sync's"
              + " jar ahead of org.eclipse.paho.mqttv5.client on the class path.");
    }
    connect(1);
    return this;
  }

  /**
   * Whether the {@code CountingInputStream} Paho decodes packets through is model-sync's
   * replacement (bulk reads passed through) rather than Paho 1.2.5's own, which reads a PUBLISH
   * payload one byte at a time. Decided by the class path's order.
   */
  public static boolean pahoReadsInBulk() {
    try {
      org.eclipse.paho.mqttv5.common.packet.util.CountingInputStream.class.getDeclaredMethod(
          "read", byte[].class, int.class, int.class);
      return true;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  private MqttConnectionOptions connectionOptions() {
    MqttConnectionOptions o = new MqttConnectionOptions();
    // reconnection is ours (connect() retries with backoff): Paho 1.2.5's own automatic reconnect
    // never came back for a clean-start-off session after a broker outage of a minute
    o.setAutomaticReconnect(false);
    o.setCleanStart(!options.persistentSession());
    if (options.persistentSession()) {
      o.setSessionExpiryInterval(7L * 24 * 3600);
    }
    o.setConnectionTimeout(10);
    o.setKeepAliveInterval(options.keepAliveSeconds());
    if (options.username() != null) {
      o.setUserName(options.username());
      o.setPassword(options.password());
    }
    if (options.socketFactory() != null) {
      o.setSocketFactory(options.socketFactory());
      o.setHttpsHostnameVerificationEnabled(false);
    } else if (options.url().startsWith("tcp://")) {
      // Paho leaves Nagle on: a small publish then waits for the broker's delayed ACK (~40 ms),
      // which capped request/response at ~20 round trips a second
      o.setSocketFactory(new NoDelaySocketFactory());
    }
    if (options.statusTopic() != null && options.will() != null) {
      o.setWill(options.statusTopic(), new MqttMessage(options.will(), 1, true, null));
    }
    return o;
  }

  private synchronized void connect(int attempt) {
    if (closed || client.isConnected()) {
      return;
    }
    if (used) {
      MqttAsyncClient old = client;
      try {
        old.close(true);
      } catch (MqttException | RuntimeException e) {
        log.debug("MQTT: closing the previous client: {}", e.toString());
      }
      client = newClient();
      used = false;
    }
    MqttAsyncClient attempting = client;
    try {
      IMqttToken token =
          attempting.connect(
              connectionOptions(),
              null,
              new MqttActionListener() {
                @Override
                public void onSuccess(IMqttToken t) {}

                @Override
                public void onFailure(IMqttToken t, Throwable e) {
                  lastError = "cannot connect to " + options.url() + ": " + describe(e);
                  long delay = Math.min(15, 1L << Math.min(attempt - 1, 4));
                  log.warn("MQTT {} (retrying in {} s)", lastError, delay);
                  // Paho retries only connections that once succeeded: retry the first one here
                  timer.schedule(
                      () -> {
                        if (client == attempting && !client.isConnected()) {
                          connect(attempt + 1);
                        }
                      },
                      delay,
                      TimeUnit.SECONDS);
                }
              });
      // a path that accepts the connection and never answers (a dead broker behind a load
      // balancer, a half-open NAT entry) leaves Paho's connect waiting for its CONNACK for ever:
      // give the attempt up and start again with a fresh client
      timer.schedule(
          () -> {
            synchronized (this) {
              if (closed || client != attempting || token.isComplete()) {
                return;
              }
              lastError =
                  "no answer (CONNACK) from "
                      + options.url()
                      + " within "
                      + CONNECT_WATCHDOG_S
                      + " s";
              log.warn("MQTT {}; trying again", lastError);
              used = true; // the next attempt closes this client and makes a new one
            }
            connect(attempt + 1);
          },
          CONNECT_WATCHDOG_S,
          TimeUnit.SECONDS);
    } catch (MqttException e) {
      lastError = describe(e);
      timer.schedule(() -> connect(attempt + 1), 5, TimeUnit.SECONDS);
    }
  }

  static String describe(Throwable e) {
    String m = e.getMessage();
    Throwable c = e.getCause();
    return c != null && c.getMessage() != null ? m + " (" + c.getMessage() + ")" : m;
  }

  public boolean connected() {
    return client.isConnected();
  }

  public String lastError() {
    return lastError;
  }

  public String clientId() {
    return options.clientId();
  }

  /** Runs {@code r} on every (re)connection, after subscriptions and the birth message. */
  public void onConnected(Runnable r) {
    onConnect.add(r);
    if (client.isConnected()) {
      dispatch.execute(r);
    }
  }

  /** Subscribes now if connected, and again on every connection. */
  public void subscribe(String filter, int qos, Handler handler) {
    String match = filter.startsWith("$share/") ? filter.split("/", 3)[2] : filter;
    subscriptions.add(new Subscription(filter, match, qos, handler));
    if (client.isConnected()) {
      subscribeNow(filter, qos);
    }
  }

  private void subscribeNow(String filter, int qos) {
    try {
      client.subscribe(new MqttSubscription(filter, qos));
    } catch (MqttException e) {
      lastError = "subscribe " + filter + ": " + describe(e);
      log.warn("MQTT {}", lastError);
    }
  }

  /**
   * Publishes; the future completes when the broker has the message (QoS 1/2) or it was written
   * (QoS 0), and fails at once when not connected, so a caller that must not lose it keeps it.
   */
  public CompletableFuture<Void> publish(
      String topic, byte[] payload, int qos, boolean retained, MqttProperties props) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (!client.isConnected()) {
      done.completeExceptionally(new NotConnectedException(lastError));
      return done;
    }
    publishing.add(done);
    done.whenComplete((ok, e) -> publishing.remove(done));
    MqttMessage m = new MqttMessage(payload, qos, retained, props);
    MqttActionListener listener =
        new MqttActionListener() {
          @Override
          public void onSuccess(IMqttToken t) {
            int[] codes = t.getReasonCodes();
            if (codes != null && codes.length > 0 && codes[0] >= 0x80) {
              // MQTT 5: the broker took the packet but refused the message (ACL, quota …)
              RefusedException e = new RefusedException(topic, codes[0]);
              log.warn("MQTT {}", e.getMessage());
              done.completeExceptionally(e);
              return;
            }
            done.complete(null);
          }

          @Override
          public void onFailure(IMqttToken t, Throwable e) {
            done.completeExceptionally(e);
          }
        };
    long deadline = System.nanoTime() + MAX_INFLIGHT_WAIT_NANOS;
    while (true) {
      try {
        // one publisher at a time: Paho assigns a topic alias and queues the message in two
        // steps, so two threads publishing on one topic could queue the alias-only message first,
        // and the broker drops the connection ("Topic alias in PUBLISH could not be mapped")
        synchronized (publishLock) {
          client.publish(topic, m, null, listener);
        }
        return done;
      } catch (MqttException e) {
        if (e.getReasonCode() != MqttClientException.REASON_CODE_MAX_INFLIGHT
            || System.nanoTime() > deadline) {
          done.completeExceptionally(e);
          return done;
        }
      }
      // the broker's receive maximum is reached (HiveMQ: 10 in flight): wait for acknowledgements
      // rather than fail — a bridge answering a thousand devices hits it all the time
      try {
        Thread.sleep(2);
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        done.completeExceptionally(ie);
        return done;
      }
    }
  }

  public CompletableFuture<Void> publish(String topic, byte[] payload, int qos, boolean retained) {
    return publish(topic, payload, qos, retained, null);
  }

  /**
   * Sends a request with {@code responseTopic} and fresh correlation data; completes with the
   * response that carries the same correlation data. The caller must have called {@link
   * #listenForResponses} on {@code responseTopic}.
   */
  public CompletableFuture<MqttMessage> request(
      String topic, byte[] payload, String responseTopic, Duration timeout) {
    return request(topic, payload, responseTopic, timeout, Map.of());
  }

  /** {@link #request} with MQTT 5 user properties on the request. */
  public CompletableFuture<MqttMessage> request(
      String topic,
      byte[] payload,
      String responseTopic,
      Duration timeout,
      Map<String, String> userProperties) {
    byte[] correlation = new byte[12];
    RANDOM.nextBytes(correlation);
    ByteBuffer key = ByteBuffer.wrap(correlation);
    CompletableFuture<MqttMessage> response = new CompletableFuture<>();
    requests.put(key, response);
    MqttProperties p = new MqttProperties();
    p.setResponseTopic(responseTopic);
    p.setCorrelationData(correlation);
    setUserProperties(p, userProperties);
    publish(topic, payload, 1, false, p)
        .whenComplete(
            (ok, e) -> {
              if (e != null) {
                response.completeExceptionally(e);
              }
            });
    timer.schedule(
        () ->
            response.completeExceptionally(
                new TimeoutException("no response on " + responseTopic + " within " + timeout)),
        timeout.toMillis(),
        TimeUnit.MILLISECONDS);
    response.whenComplete((r, e) -> requests.remove(key));
    return response;
  }

  /** Routes responses arriving on {@code responseTopic} to their {@link #request}s. */
  public void listenForResponses(String responseTopic) {
    subscribe(
        responseTopic,
        1,
        (topic, m) -> {
          byte[] c = m.getProperties() == null ? null : m.getProperties().getCorrelationData();
          CompletableFuture<MqttMessage> f = c == null ? null : requests.get(ByteBuffer.wrap(c));
          if (f != null) {
            f.complete(m);
          } else {
            log.debug("MQTT response on {} matches no open request (late or foreign)", topic);
          }
        });
  }

  /** Answers a request: same correlation data, on its response topic. */
  public CompletableFuture<Void> respond(
      MqttMessage request, byte[] payload, Map<String, String> userProperties) {
    MqttProperties in = request.getProperties();
    if (in == null || in.getResponseTopic() == null) {
      CompletableFuture<Void> f = new CompletableFuture<>();
      f.completeExceptionally(new IllegalArgumentException("the request has no response topic"));
      return f;
    }
    MqttProperties p = new MqttProperties();
    p.setCorrelationData(in.getCorrelationData());
    setUserProperties(p, userProperties);
    return publish(in.getResponseTopic(), payload, 1, false, p);
  }

  private static void setUserProperties(MqttProperties p, Map<String, String> userProperties) {
    if (userProperties != null && !userProperties.isEmpty()) {
      p.setUserProperties(
          userProperties.entrySet().stream()
              .map(
                  e ->
                      new org.eclipse.paho.mqttv5.common.packet.UserProperty(
                          e.getKey(), e.getValue()))
              .toList());
    }
  }

  /** A user property of a message, or null. */
  public static String userProperty(MqttMessage m, String key) {
    if (m.getProperties() == null || m.getProperties().getUserProperties() == null) {
      return null;
    }
    for (var u : m.getProperties().getUserProperties()) {
      if (u.getKey().equals(key)) {
        return u.getValue();
      }
    }
    return null;
  }

  static boolean matches(String filter, String topic) {
    String[] f = filter.split("/", -1);
    String[] t = topic.split("/", -1);
    for (int i = 0; i < f.length; i++) {
      if (f[i].equals("#")) {
        return true;
      }
      if (i >= t.length) {
        return false;
      }
      if (!f[i].equals("+") && !f[i].equals(t[i])) {
        return false;
      }
    }
    return f.length == t.length;
  }

  /** Says offline (the status topic's will, sent by us), then disconnects. */
  @Override
  public void close() {
    closed = true;
    try {
      if (client.isConnected()) {
        if (options.statusTopic() != null && options.will() != null) {
          client.publish(options.statusTopic(), options.will(), 1, true).waitForCompletion(2000);
        }
        client.disconnect().waitForCompletion(2000);
      }
      client.close(true);
    } catch (MqttException e) {
      log.debug("MQTT close: {}", e.getMessage());
    }
    timer.shutdownNow();
    dispatch.shutdown();
    requests.values().forEach(f -> f.completeExceptionally(new NotConnectedException("closed")));
  }

  /** Plain TCP sockets with TCP_NODELAY. */
  static final class NoDelaySocketFactory extends SocketFactory {
    private static java.net.Socket noDelay(java.net.Socket s) throws java.net.SocketException {
      s.setTcpNoDelay(true);
      return s;
    }

    @Override
    public java.net.Socket createSocket() throws java.io.IOException {
      return noDelay(new java.net.Socket());
    }

    @Override
    public java.net.Socket createSocket(String host, int port) throws java.io.IOException {
      return noDelay(new java.net.Socket(host, port));
    }

    @Override
    public java.net.Socket createSocket(
        String host, int port, java.net.InetAddress local, int localPort)
        throws java.io.IOException {
      return noDelay(new java.net.Socket(host, port, local, localPort));
    }

    @Override
    public java.net.Socket createSocket(java.net.InetAddress host, int port)
        throws java.io.IOException {
      return noDelay(new java.net.Socket(host, port));
    }

    @Override
    public java.net.Socket createSocket(
        java.net.InetAddress host, int port, java.net.InetAddress local, int localPort)
        throws java.io.IOException {
      return noDelay(new java.net.Socket(host, port, local, localPort));
    }
  }

  /** Thrown into futures when the link is down: the caller keeps what it wanted to send. */
  /** The broker acknowledged a publish with an error reason code (0x87: not authorized). */
  public static final class RefusedException extends RuntimeException {
    private final int reasonCode;

    public RefusedException(String topic, int reasonCode) {
      super(
          "the broker refused the message on "
              + topic
              + " (reason 0x"
              + Integer.toHexString(reasonCode)
              + (reasonCode == 0x87
                  ? ": not authorized — a device may use only its own topics"
                  : "")
              + ")");
      this.reasonCode = reasonCode;
    }

    public int reasonCode() {
      return reasonCode;
    }
  }

  public static final class NotConnectedException extends RuntimeException {
    public NotConnectedException(String why) {
      super("not connected to the MQTT broker: " + why);
    }
  }

  private final class Callback implements MqttCallback {
    private final MqttAsyncClient source;

    Callback(MqttAsyncClient source) {
      this.source = source;
    }

    @Override
    public void disconnected(MqttDisconnectResponse r) {
      if (source != client) {
        return; // an old client's last words
      }
      lastError =
          "disconnected: "
              + (r.getException() != null ? describe(r.getException()) : r.getReasonString());
      log.warn("MQTT {}: {}", options.url(), lastError);
      if (!closed) {
        timer.schedule(() -> connect(1), 1, TimeUnit.SECONDS);
      }
      // answers to open requests will not come on this connection: fail them now
      requests.values().forEach(f -> f.completeExceptionally(new NotConnectedException(lastError)));
      // nor will acknowledgements of open publishes: the next connection is a new client, and a
      // caller waiting for them (the outbox sender) would wait for its timeout instead of resending
      List.copyOf(publishing)
          .forEach(f -> f.completeExceptionally(new NotConnectedException(lastError)));
    }

    @Override
    public void mqttErrorOccurred(MqttException e) {
      lastError = describe(e);
    }

    @Override
    public void messageArrived(String topic, MqttMessage message) {
      dispatch.execute(
          () -> {
            for (Subscription s : subscriptions) {
              if (matches(s.match(), topic)) {
                try {
                  s.handler().onMessage(topic, message);
                } catch (Exception | Error e) {
                  log.warn("MQTT handler for {} failed on {}: {}", s.filter(), topic, e.toString());
                }
              }
            }
          });
    }

    @Override
    public void deliveryComplete(IMqttToken token) {}

    @Override
    public void connectComplete(boolean reconnect, String serverUri) {
      used = true;
      lastError = "";
      log.info("MQTT connected to {}", serverUri);
      for (Subscription s : subscriptions) {
        subscribeNow(s.filter(), s.qos());
      }
      if (options.statusTopic() != null && options.birth() != null) {
        publish(options.statusTopic(), options.birth().get(), 1, true);
      }
      onConnect.forEach(dispatch::execute);
    }

    @Override
    public void authPacketArrived(int reasonCode, MqttProperties properties) {}
  }
}
