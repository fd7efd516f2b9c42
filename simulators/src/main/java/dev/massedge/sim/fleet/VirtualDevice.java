package dev.massedge.sim.fleet;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.pkg.Hashes;
import dev.massedge.sync.pkg.ModelManifest;
import dev.massedge.sync.pkg.PackageSignature;
import dev.massedge.sync.pkg.SignedPackage;
import dev.massedge.sync.pkg.TrustStore;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One simulated device speaking the real contract (model-sync's topics and messages): retained
 * birth and a will, the desired twin, telemetry batches with {@code seq}/{@code from} kept in an
 * outbox (in memory, as if on disk: it survives a simulated crash) and sent again until the cloud
 * confirms them, and model delivery through the bridge's chunk server — the signed manifest checked
 * against the twin's hash and the fleet key, every chunk hash-checked, a lost answer asked for
 * again — then an activation that takes the profile's time and succeeds with its probability,
 * reported in the twin. After a lost connection it reconnects, announces itself and reports its
 * twin again. No disk, no inference engine: a thousand fit in one JVM on one Netty event loop.
 */
final class VirtualDevice {
  private final String id;
  private final Scenario scenario;
  private final TrustStore trust;
  private final ScheduledExecutorService timer;
  private final Random random;
  private final Mqtt5AsyncClient client;
  private final Map<String, String> active = new ConcurrentHashMap<>();
  private final Map<String, SyncMessage.ModelState> states = new ConcurrentHashMap<>();
  private final Map<ByteBuffer, CompletableFuture<Mqtt5Publish>> waiting =
      new ConcurrentHashMap<>();
  private final AtomicLong seq = new AtomicLong();
  private final AtomicLong correlation = new AtomicLong();
  private final ConcurrentSkipListMap<Long, Pending> outbox = new ConcurrentSkipListMap<>();
  final AtomicLong acked = new AtomicLong(-1);
  final AtomicLong bytesFetched = new AtomicLong();
  final AtomicLong resent = new AtomicLong();
  final AtomicLong dropped = new AtomicLong();
  final AtomicLong reconnects = new AtomicLong();
  final AtomicLong askRetries = new AtomicLong();
  final AtomicLong crashes = new AtomicLong();
  private final AtomicInteger generation = new AtomicInteger();
  private volatile boolean producing = true;
  private volatile boolean down;
  private volatile boolean connectedOnce;
  volatile long fetchMillis = -1;
  volatile long activatedAt = -1;
  volatile String outcome = "idle";
  private volatile long desiredVersion;
  private volatile String fetching;

  /** A telemetry batch in the outbox: its bytes and when it was last sent. */
  private record Pending(byte[] payload, long sentAt) {}

  /**
   * @param port the broker's port as this device reaches it (the scenario's, or a fault proxy's
   *     lane)
   */
  VirtualDevice(
      String id,
      Scenario scenario,
      int port,
      TrustStore trust,
      ScheduledExecutorService timer,
      long seed) {
    this.id = id;
    this.scenario = scenario;
    this.trust = trust;
    this.timer = timer;
    this.random = new Random(seed);
    active.putAll(scenario.models());
    scenario
        .models()
        .forEach((k, v) -> states.put(k, new SyncMessage.ModelState(v, null, "active", null)));
    URI broker = URI.create(scenario.broker());
    client =
        Mqtt5Client.builder()
            .identifier("sim-" + id)
            .simpleAuth()
            .username(id) // the device id: the broker's ACL holds it to its own topics
            .applySimpleAuth()
            .serverHost(broker.getHost())
            .serverPort(port)
            .automaticReconnect()
            .initialDelay(500, TimeUnit.MILLISECONDS)
            .maxDelay(5, TimeUnit.SECONDS)
            .applyAutomaticReconnect()
            .addConnectedListener(c -> onConnected())
            .willPublish()
            .topic(Topics.status(id))
            .payload(status(false))
            .qos(MqttQos.AT_LEAST_ONCE)
            .retain(true)
            .applyWillPublish()
            .buildAsync();
  }

  String id() {
    return id;
  }

  /** Telemetry batches sent so far. */
  long sent() {
    return seq.get();
  }

  CompletableFuture<Void> start() {
    client.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL, this::onMessage);
    return connect()
        .thenRun(
            () -> {
              long period = scenario.telemetryIntervalMillis();
              timer.scheduleAtFixedRate(
                  this::telemetry,
                  random.nextInt((int) Math.max(1, period)),
                  period,
                  TimeUnit.MILLISECONDS);
            });
  }

  /**
   * A new session after a lost connection (the client reconnects by itself and subscribes again):
   * the birth and the reported twin again, as the will has marked the device offline.
   */
  private void onConnected() {
    if (connectedOnce) {
      reconnects.incrementAndGet();
      publish(Topics.status(id), status(true), true).exceptionally(e -> null);
      report();
    }
  }

  private CompletableFuture<Void> connect() {
    return client
        .connectWith()
        .cleanStart(true)
        .keepAlive(60)
        .send()
        .thenCompose(
            a ->
                client
                    .subscribeWith()
                    .addSubscription()
                    .topicFilter(Topics.twinDesired(id))
                    .qos(MqttQos.AT_LEAST_ONCE)
                    .applySubscription()
                    .addSubscription()
                    .topicFilter(Topics.telemetryAck(id))
                    .qos(MqttQos.AT_LEAST_ONCE)
                    .applySubscription()
                    .addSubscription()
                    .topicFilter(Topics.chunkResponses(id))
                    .qos(MqttQos.AT_LEAST_ONCE)
                    .applySubscription()
                    .send())
        .thenCompose(s -> publish(Topics.status(id), status(true), true))
        .thenRun(() -> connectedOnce = true);
  }

  /**
   * The device dies (power cut, kill -9): its session ends the way a crash looks to the broker,
   * which publishes its will (the client cannot drop its socket silently: it disconnects with the
   * reason code that asks for the will); a download in progress is forgotten. The outbox survives,
   * as it would on disk. {@link #restart} brings it back.
   */
  CompletableFuture<Void> crash() {
    down = true;
    crashes.incrementAndGet();
    generation.incrementAndGet();
    fetching = null;
    waiting.values().forEach(f -> f.cancel(false));
    waiting.clear();
    String v = active.get(scenario.model());
    states.put(scenario.model(), new SyncMessage.ModelState(v, null, "active", null));
    if (outcome.equals("downloading")) {
      outcome = "idle";
    }
    return client
        .disconnectWith()
        .reasonCode(Mqtt5DisconnectReasonCode.DISCONNECT_WITH_WILL_MESSAGE)
        .send()
        .exceptionally(e -> null);
  }

  /** Boots again after {@link #crash}: a new session, the birth, the retained twin read again. */
  CompletableFuture<Void> restart() {
    // the client ends its message flows with a disconnect of its own
    client.publishes(com.hivemq.client.mqtt.MqttGlobalPublishFilter.ALL, this::onMessage);
    return connect()
        .whenComplete(
            (v, e) -> {
              down = false;
              if (e != null) {
                outcome = "error: restart: " + e.getMessage();
              }
            });
  }

  /** Stops making telemetry; what is in the outbox is still sent until confirmed. */
  void stopProducing() {
    producing = false;
  }

  /** Batches in the outbox, not yet confirmed. */
  int unconfirmed() {
    return outbox.size();
  }

  /** The outbox as the device sees it, for a report on what did not drain. */
  String outboxState() {
    return id
        + ": confirmed up to "
        + acked.get()
        + ", unconfirmed "
        + outbox.keySet()
        + ", next "
        + seq.get();
  }

  private byte[] status(boolean online) {
    return SyncCodec.write(
        new SyncMessage.Status(
            SyncCodec.SCHEMA,
            online,
            "sim-1",
            "sim",
            "none",
            Map.copyOf(active),
            System.currentTimeMillis()));
  }

  private CompletableFuture<Void> publish(String topic, byte[] payload, boolean retain) {
    return client
        .publishWith()
        .topic(topic)
        .payload(payload)
        .qos(MqttQos.AT_LEAST_ONCE)
        .retain(retain)
        .send()
        .thenAccept(r -> {});
  }

  /**
   * Every interval: a new batch into the outbox (over the quota the oldest is dropped and counted;
   * the next batch's {@code from} tells the cloud), and batches unconfirmed for a while sent again
   * — the cloud recognises repeats.
   */
  private void telemetry() {
    if (down) {
      return;
    }
    try {
      tick();
    } catch (RuntimeException e) {
      // a periodic task that throws is never run again: keep the device alive, say why
      outcome = "error: telemetry: " + e;
    }
  }

  private void tick() {
    long now = System.nanoTime();
    if (producing) {
      long s = seq.getAndIncrement();
      outbox.put(s, new Pending(batch(s), now));
      while (outbox.size() > scenario.outboxBatches()) {
        outbox.pollFirstEntry();
        dropped.incrementAndGet();
      }
      send(s, outbox.get(s));
    }
    long again =
        Math.max(
            TimeUnit.SECONDS.toNanos(5),
            TimeUnit.MILLISECONDS.toNanos(3 * scenario.telemetryIntervalMillis()));
    int n = 0;
    for (Map.Entry<Long, Pending> e : outbox.entrySet()) {
      if (n >= 20) {
        break;
      }
      if (now - e.getValue().sentAt() > again) {
        Pending p = new Pending(e.getValue().payload(), now);
        if (outbox.replace(e.getKey(), e.getValue(), p)) {
          resent.incrementAndGet();
          send(e.getKey(), p);
          n++;
        }
      }
    }
  }

  private void send(long s, Pending p) {
    if (p == null) {
      return;
    }
    Map.Entry<Long, Pending> first = outbox.firstEntry();
    long from = first == null ? s : Math.min(s, first.getKey());
    client
        .publishWith()
        .topic(Topics.telemetry(id))
        .payload(p.payload())
        .qos(MqttQos.AT_LEAST_ONCE)
        .userProperties()
        .add("seq", Long.toString(s))
        .add("from", Long.toString(from))
        .applyUserProperties()
        .send();
  }

  /** A metrics batch: as many metrics as the scenario says, the model version it runs. */
  private byte[] batch(long s) {
    long now = System.currentTimeMillis();
    List<SyncMessage.Metric> m = new java.util.ArrayList<>();
    String version = active.getOrDefault(scenario.model(), "1");
    Map<String, String> tags = Map.of("model", scenario.model(), "version", version);
    m.add(new SyncMessage.Metric("model.calls", tags, s * 10.0, now));
    m.add(new SyncMessage.Metric("model.errors", tags, 0, now));
    m.add(new SyncMessage.Metric("model.latency_ms.p95", tags, 4 + random.nextDouble(), now));
    for (int i = m.size(); i < scenario.metricsPerBatch(); i++) {
      m.add(new SyncMessage.Metric("sim.m" + i, Map.of(), random.nextDouble(), now));
    }
    return SyncCodec.write(new SyncMessage.TelemetryBatch(SyncCodec.SCHEMA, s, m));
  }

  private void onMessage(Mqtt5Publish p) {
    String topic = p.getTopic().toString();
    byte[] payload = p.getPayloadAsBytes();
    try {
      if (topic.endsWith("/telemetry/ack")) {
        long upTo = SyncCodec.read(payload, SyncMessage.TelemetryAck.class).seq();
        acked.accumulateAndGet(upTo, Math::max);
        outbox.headMap(upTo, true).clear();
      } else if (topic.endsWith("/chunks/response")) {
        p.getCorrelationData()
            .map(ByteBuffer::asReadOnlyBuffer)
            .map(waiting::remove)
            .ifPresent(f -> f.complete(p));
      } else if (topic.endsWith("/twin/desired") && payload.length > 0) {
        onDesired(SyncCodec.read(payload, SyncMessage.TwinDesired.class));
      }
    } catch (RuntimeException e) {
      outcome = "error: " + e.getMessage();
    }
  }

  private void onDesired(SyncMessage.TwinDesired d) {
    desiredVersion = d.version();
    SyncMessage.ModelRef ref = d.models().get(scenario.model());
    if (ref == null || ref.version().equals(active.get(scenario.model()))) {
      report();
      return;
    }
    if (ref.manifestSha256().equals(fetching)) {
      return;
    }
    fetching = ref.manifestSha256();
    outcome = "downloading";
    states.put(
        scenario.model(),
        new SyncMessage.ModelState(
            active.get(scenario.model()), ref.version(), "downloading", null));
    report();
    long t0 = System.nanoTime();
    int gen = generation.get();
    fetch(ref)
        .whenComplete(
            (ok, e) -> {
              if (gen != generation.get()) {
                return; // the device crashed meanwhile: the twin, read again, starts over
              }
              fetchMillis = (System.nanoTime() - t0) / 1_000_000;
              if (e != null) {
                fail(ref, "delivery: " + e.getMessage());
                return;
              }
              long delay =
                  scenario.activationMinMillis()
                      + (long)
                          (random.nextDouble()
                              * (scenario.activationMaxMillis() - scenario.activationMinMillis()));
              timer.schedule(
                  () -> {
                    if (gen != generation.get()) {
                      return;
                    }
                    if (random.nextDouble() < scenario.successRate()) {
                      active.put(scenario.model(), ref.version());
                      states.put(
                          scenario.model(),
                          new SyncMessage.ModelState(ref.version(), null, "active", null));
                      activatedAt = System.currentTimeMillis();
                      outcome = "active";
                      report();
                    } else {
                      fail(ref, "smoke_test_failed: simulated");
                    }
                  },
                  delay,
                  TimeUnit.MILLISECONDS);
            });
  }

  private void fail(SyncMessage.ModelRef ref, String why) {
    states.put(
        scenario.model(),
        new SyncMessage.ModelState(active.get(scenario.model()), ref.version(), "failed", why));
    outcome = "failed: " + why.replace(',', ';');
    fetching = null;
    report();
  }

  private void report() {
    publish(
        Topics.twinReported(id),
        SyncCodec.write(
            new SyncMessage.TwinReported(
                SyncCodec.SCHEMA,
                desiredVersion,
                Map.copyOf(states),
                Map.of(),
                System.currentTimeMillis())),
        true);
  }

  /** The signed manifest, checked, then every file's chunks in runs, each chunk checked. */
  private CompletableFuture<Void> fetch(SyncMessage.ModelRef ref) {
    return ask(ref.manifestSha256(), SyncMessage.ChunkRequest.MANIFEST, 0, 0)
        .thenCompose(
            b -> {
              SignedPackage p = SignedPackage.parse(b, ref.manifestSha256());
              trust.verify(p.manifest(), p.signatures());
              CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
              List<ModelManifest.FileEntry> files = p.manifest().files();
              for (int f = 0; f < files.size(); f++) {
                ModelManifest.FileEntry file = files.get(f);
                int fi = f;
                int from = 0;
                while (from < file.chunks().size()) {
                  int to = from;
                  long bytes = 0;
                  while (to < file.chunks().size() && bytes < 512 * 1024) {
                    bytes += file.chunks().get(to++).size();
                  }
                  int a = from;
                  int z = to;
                  chain =
                      chain.thenCompose(
                          v ->
                              ask(ref.manifestSha256(), fi, a, z)
                                  .thenAccept(data -> check(file, a, z, data)));
                  from = to;
                }
              }
              return chain;
            });
  }

  private static void check(ModelManifest.FileEntry file, int from, int to, byte[] data) {
    int off = 0;
    for (int i = from; i < to; i++) {
      ModelManifest.ChunkRef c = file.chunks().get(i);
      if (off + c.size() > data.length || !Hashes.sha256(data, off, c.size()).equals(c.sha256())) {
        throw new IllegalStateException("chunk " + i + " of " + file.path() + " is damaged");
      }
      off += c.size();
    }
  }

  /**
   * A run of chunks (or the manifest); an answer lost with a connection is asked for again, every
   * 10 s, up to 12 times.
   */
  private CompletableFuture<byte[]> ask(String sha, int file, int from, int to) {
    return ask(sha, file, from, to, 1, generation.get());
  }

  private CompletableFuture<byte[]> ask(
      String sha, int file, int from, int to, int attempt, int gen) {
    return askOnce(sha, file, from, to)
        .handle(
            (b, e) -> {
              if (e == null) {
                return CompletableFuture.completedFuture(b);
              }
              Throwable cause = e instanceof CompletionException ? e.getCause() : e;
              if (cause instanceof TimeoutException && attempt < 12 && gen == generation.get()) {
                askRetries.incrementAndGet();
                return ask(sha, file, from, to, attempt + 1, gen);
              }
              return CompletableFuture.<byte[]>failedFuture(cause);
            })
        .thenCompose(f -> f);
  }

  private CompletableFuture<byte[]> askOnce(String sha, int file, int from, int to) {
    byte[] corr = (id + ":" + correlation.incrementAndGet()).getBytes(StandardCharsets.UTF_8);
    CompletableFuture<Mqtt5Publish> answer = new CompletableFuture<>();
    waiting.put(ByteBuffer.wrap(corr).asReadOnlyBuffer(), answer);
    client
        .publishWith()
        .topic(Topics.chunkRequests(id))
        .payload(
            SyncCodec.write(new SyncMessage.ChunkRequest(SyncCodec.SCHEMA, sha, file, from, to)))
        .qos(MqttQos.AT_LEAST_ONCE)
        .responseTopic(Topics.chunkResponses(id))
        .correlationData(corr)
        .send();
    return answer
        .orTimeout(10, TimeUnit.SECONDS)
        .whenComplete((p, e) -> waiting.remove(ByteBuffer.wrap(corr).asReadOnlyBuffer()))
        .thenApply(
            p -> {
              String status =
                  p.getUserProperties().asList().stream()
                      .filter(u -> u.getName().toString().equals("status"))
                      .map(u -> u.getValue().toString())
                      .findFirst()
                      .orElse("invalid_response");
              if (!status.equals("ok")) {
                throw new IllegalStateException("chunk server: " + status);
              }
              byte[] b = p.getPayloadAsBytes();
              bytesFetched.addAndGet(b.length);
              return b;
            });
  }

  CompletableFuture<Void> stop() {
    return client.disconnect().exceptionally(e -> null);
  }

  static TrustStore trusting(String publicKeyBase64) {
    return new TrustStore()
        .trust(PackageSignature.publicKey(java.util.Base64.getDecoder().decode(publicKeyBase64)));
  }
}
