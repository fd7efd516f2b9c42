package dev.massedge.agent.sync;

import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.delivery.ChunkServer;
import dev.massedge.sync.delivery.PackageRepository;
import dev.massedge.sync.link.MqttLink;
import dev.massedge.sync.pkg.PackageSignature;
import dev.massedge.sync.pkg.SignedPackage;
import dev.massedge.sync.testing.ModelDirs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The cloud side for the agent's sync tests, made of model-sync's own parts: a signed package
 * repository, a chunk server behind the shared subscription, desired twins, a reported-state log.
 */
final class Bridge implements AutoCloseable {
  static final Path MODELS = Path.of(System.getProperty("mass.models.dir", "../models"));
  final KeyPair fleetKey = PackageSignature.newKeyPair();
  final PackageRepository repo;
  final MqttLink link;
  final ChunkServer server;
  final Map<String, List<SyncMessage.TwinReported>> reported = new ConcurrentHashMap<>();
  final Map<String, String> status = new ConcurrentHashMap<>();

  /** Telemetry and events as the cloud stores them: decoded JSON, in order, once each. */
  final List<String> records = new CopyOnWriteArrayList<>();

  final dev.massedge.sync.outbox.OutboxReceiver receiver;
  private long twinVersion = 0;

  Bridge(String brokerUrl, Path dir) throws Exception {
    this(brokerUrl, dir, null, null);
  }

  /** As {@code user} (the administrator of a broker with the device ACL). */
  Bridge(String brokerUrl, Path dir, String user, byte[] password) throws Exception {
    this(
        brokerUrl,
        dir,
        user == null
            ? new MqttLink.Options(brokerUrl, "test-bridge-" + System.nanoTime())
            : new MqttLink.Options(brokerUrl, "test-bridge-" + System.nanoTime())
                .withCredentials(user, password));
  }

  /** Connected as {@code options} say (TLS with the administrator's certificate, say). */
  Bridge(String brokerUrl, Path dir, MqttLink.Options options) throws Exception {
    repo = new PackageRepository(dir.resolve("repo"));
    link = new MqttLink(options).start();
    server = new ChunkServer(link, repo, 2);
    receiver =
        new dev.massedge.sync.outbox.OutboxReceiver(
            link,
            (device, kind, seq, payload) -> {
              byte[] b = payload;
              if (b.length > 2 && (b[0] & 0xff) == 0x1f && (b[1] & 0xff) == 0x8b) {
                b =
                    new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(b))
                        .readAllBytes();
              }
              records.add(
                  device + " " + kind + " " + seq + " " + new String(b, StandardCharsets.UTF_8));
            });
    link.subscribe(
        "mass/v1/+/twin/reported",
        1,
        (t, m) ->
            reported
                .computeIfAbsent(Topics.parse(t).deviceId(), k -> new CopyOnWriteArrayList<>())
                .add(SyncCodec.read(m.getPayload(), SyncMessage.TwinReported.class)));
    link.subscribe(
        "mass/v1/+/status",
        1,
        (t, m) ->
            status.put(
                Topics.parse(t).deviceId(), new String(m.getPayload(), StandardCharsets.UTF_8)));
  }

  String trustedKey() {
    return Base64.getEncoder().encodeToString(fleetKey.getPublic().getEncoded());
  }

  /** A copy of a bundled model as another version: same network, a different producer string. */
  static Path variant(String model, Path to, String version) throws Exception {
    Path file = ModelDirs.asVersion(MODELS.resolve(model), to, version);
    byte[] b = Files.readAllBytes(file);
    // ModelProto field 2 (producer_name) follows ir_version: tag 0x12, a length, the string
    int i = b[0] == 0x08 ? 2 : 0;
    if (b[i] == 0x12 && b[i + 1] > 0) {
      b[i + 2] = (byte) ('A' + Math.abs(version.hashCode()) % 26);
    } else {
      throw new IllegalStateException(model + ": unexpected ONNX header");
    }
    Files.write(file, b);
    return to;
  }

  /** Another version whose last layers were retrained ({@code fraction} of the weight bytes). */
  static Path retrained(String model, Path to, String version, double fraction) throws Exception {
    Path file = ModelDirs.asVersion(MODELS.resolve(model), to, version);
    dev.massedge.inference.FineTune.lastLayers(
        MODELS.resolve(model).resolve(file.getFileName()), file, fraction, version.hashCode());
    return to;
  }

  SignedPackage publish(Path modelDir) throws Exception {
    return repo.publish(modelDir, fleetKey);
  }

  /** A desired twin with configuration only. */
  void desireConfig(String device, Map<String, Object> config) throws Exception {
    twinVersion++;
    byte[] b =
        SyncCodec.write(
            new SyncMessage.TwinDesired(SyncCodec.SCHEMA, twinVersion, Map.of(), config));
    link.publish(Topics.twinDesired(device), b, 1, true).get();
  }

  /** The configuration the device last reported as applied. */
  Map<String, Object> lastConfig(String device) {
    List<SyncMessage.TwinReported> l = reported.get(device);
    return l == null || l.isEmpty() ? null : l.get(l.size() - 1).config();
  }

  void desire(String device, String slot, SignedPackage p) throws Exception {
    twinVersion++;
    var ref = new SyncMessage.ModelRef(p.manifest().name(), p.manifest().version(), p.sha256());
    byte[] b =
        SyncCodec.write(
            new SyncMessage.TwinDesired(
                SyncCodec.SCHEMA, twinVersion, Map.of(slot, ref), Map.of()));
    link.publish(Topics.twinDesired(device), b, 1, true).get();
  }

  /** The last reported state of one slot, or null. */
  SyncMessage.ModelState last(String device, String slot) {
    List<SyncMessage.TwinReported> l = reported.get(device);
    if (l == null || l.isEmpty()) {
      return null;
    }
    return l.get(l.size() - 1).models().get(slot);
  }

  @Override
  public void close() {
    receiver.close();
    server.close();
    link.close();
  }
}
