package dev.massedge.sync.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.link.MqttLink;
import dev.massedge.sync.pkg.ChunkStore;
import dev.massedge.sync.pkg.Hashes;
import dev.massedge.sync.pkg.ModelManifest;
import dev.massedge.sync.pkg.PackageRejectedException;
import dev.massedge.sync.pkg.PackageSignature;
import dev.massedge.sync.pkg.SignedPackage;
import dev.massedge.sync.testing.Broker;
import dev.massedge.sync.testing.TcpProxy;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Package delivery over real brokers (embedded HiveMQ CE and Mosquitto) and over HTTP ranges. */
class DeliveryTest {
  static final Path MODELS = Path.of(System.getProperty("mass.models.dir", "../models"));
  static final KeyPair PUBLISHER = PackageSignature.newKeyPair();
  static final Map<String, Broker> BROKERS = new ConcurrentHashMap<>();

  @TempDir Path tmp;

  static Broker broker(String name) throws Exception {
    Broker b = BROKERS.get(name);
    if (b == null) {
      b = Broker.of(name);
      BROKERS.put(name, b);
    }
    return b;
  }

  @AfterAll
  static void stopBrokers() {
    BROKERS.values().forEach(Broker::close);
  }

  /** A copy of a model directory whose model file has its last {@code fraction} rewritten. */
  static Path variant(Path from, Path to, String version, double fraction) throws Exception {
    Path file = dev.massedge.sync.testing.ModelDirs.asVersion(from, to, version);
    byte[] b = Files.readAllBytes(file);
    java.util.Random r = new java.util.Random(version.hashCode());
    for (int i = (int) (b.length * (1 - fraction)); i < b.length; i++) {
      b[i] = (byte) r.nextInt();
    }
    Files.write(file, b);
    return to;
  }

  record Fleet(MqttLink serverLink, ChunkServer server, MqttLink deviceLink, TcpProxy proxy)
      implements AutoCloseable {
    @Override
    public void close() throws Exception {
      server.close();
      serverLink.close();
      deviceLink.close();
      proxy.close();
    }
  }

  Fleet fleet(Broker broker, PackageRepository repo, String device) throws Exception {
    MqttLink s = new MqttLink(new MqttLink.Options(broker.url(), "bridge-" + device)).start();
    ChunkServer server = new ChunkServer(s, repo, 2);
    TcpProxy proxy = new TcpProxy(broker.port());
    MqttLink d = new MqttLink(new MqttLink.Options(proxy.url(), device)).start();
    await().atMost(Duration.ofSeconds(20)).until(() -> s.connected() && d.connected());
    Thread.sleep(300); // the shared subscription is in place
    return new Fleet(s, server, d, proxy);
  }

  @ParameterizedTest
  @ValueSource(strings = {"embedded", "mosquitto"})
  void aFullDeliveryThenADeltaThatFetchesOnlyTheChangedChunks(String brokerName) throws Exception {
    Broker broker = broker(brokerName);
    PackageRepository repo = new PackageRepository(tmp.resolve("repo"));
    SignedPackage v1 = repo.publish(MODELS.resolve("face-blazeface-256"), PUBLISHER);
    Path v2dir = variant(MODELS.resolve("face-blazeface-256"), tmp.resolve("v2"), "2", 0.20);
    SignedPackage v2 = repo.publish(v2dir, PUBLISHER);
    try (Fleet f = fleet(broker, repo, "cam-full-" + brokerName)) {
      ChunkStore device = ChunkStore.packed(tmp.resolve("device"));
      Delivery d =
          new Delivery(
              new MqttChunkSource(f.deviceLink(), "cam-full-" + brokerName, Duration.ofSeconds(10)),
              device);

      SignedPackage got = d.manifest(v1.sha256(), 10_000);
      assertThat(got.bytes()).isEqualTo(v1.bytes());
      ModelManifest.FileEntry file = v1.manifest().files().get(0);
      Delivery.Progress p = d.fetch(v1.sha256(), got.manifest(), x -> {});
      assertThat(p.bytesFetched()).isEqualTo(file.size() - duplicateBytes(file));
      device.assemble(file, tmp.resolve("out/v1.onnx"));
      assertThat(Hashes.sha256(Files.readAllBytes(tmp.resolve("out/v1.onnx"))))
          .isEqualTo(file.sha256());

      // v2: only its last 20 % differ (most chunks shared): the device fetches those chunks and no
      // others
      long wireBefore = f.proxy().bytesDown();
      Delivery.Progress p2 =
          d.fetch(v2.sha256(), d.manifest(v2.sha256(), 10_000).manifest(), x -> {});
      long changed = (long) (file.size() * 0.20);
      assertThat(p2.bytesFetched()).isGreaterThan(0).isLessThanOrEqualTo((long) (changed * 1.10));
      assertThat(f.proxy().bytesDown() - wireBefore).isLessThan((long) (changed * 1.10) + 4096);
      ModelManifest.FileEntry file2 = v2.manifest().files().get(0);
      device.assemble(file2, tmp.resolve("out/v2.onnx"));
      assertThat(Files.readAllBytes(tmp.resolve("out/v2.onnx")))
          .isEqualTo(Files.readAllBytes(v2dir.resolve(file2.path())));
    }
  }

  private static long duplicateBytes(ModelManifest.FileEntry f) {
    Set<String> seen = new HashSet<>();
    long dup = 0;
    for (ModelManifest.ChunkRef c : f.chunks()) {
      if (!seen.add(c.sha256())) {
        dup += c.size();
      }
    }
    return dup;
  }

  @ParameterizedTest
  @ValueSource(strings = {"embedded", "mosquitto"})
  void aDeliveryCutAtHalfResumesWithoutFetchingAStoredChunkAgain(String brokerName)
      throws Exception {
    Broker broker = broker(brokerName);
    PackageRepository repo = new PackageRepository(tmp.resolve("repo"));
    SignedPackage v1 = repo.publish(MODELS.resolve("face-blazeface-256"), PUBLISHER);
    ModelManifest.FileEntry file = v1.manifest().files().get(0);
    String id = "cam-cut-" + brokerName;
    try (Fleet f = fleet(broker, repo, id)) {
      Map<String, Integer> served = new ConcurrentHashMap<>();
      f.server()
          .onServed(
              s -> {
                for (int i = s.from(); i < s.to(); i++) {
                  served.merge(file.chunks().get(i).sha256(), 1, Integer::sum);
                }
              });
      ChunkStore device = ChunkStore.packed(tmp.resolve("device"));
      Delivery d =
          new Delivery(
              new MqttChunkSource(f.deviceLink(), id, Duration.ofSeconds(5)),
              device,
              RateLimiter.unlimited(),
              2,
              32 * 1024);
      ModelManifest m = d.manifest(v1.sha256(), 10_000).manifest();
      assertThatThrownBy(
              () ->
                  d.fetch(
                      v1.sha256(),
                      m,
                      p -> {
                        if (p.bytesFetched() >= p.bytesNeeded() / 2) {
                          f.proxy().cut(); // the link drops half way
                        }
                      }))
          .isInstanceOf(DeliveryException.class)
          .matches(e -> ((DeliveryException) e).retryable());
      Set<String> storedAfterCut = new HashSet<>();
      file.chunks()
          .forEach(
              c -> {
                if (device.has(c.sha256())) storedAfterCut.add(c.sha256());
              });
      assertThat(storedAfterCut.size())
          .isBetween(file.chunks().size() / 3, file.chunks().size() - 1);

      Thread.sleep(1000); // requests of the cut run still at the server finish first
      served.clear();
      f.proxy().heal();
      await().atMost(Duration.ofSeconds(40)).until(() -> f.deviceLink().connected());
      Delivery.Progress p = d.fetch(v1.sha256(), m, x -> {});
      assertThat(p.done()).isTrue();
      assertThat(served.keySet()).doesNotContainAnyElementsOf(storedAfterCut);
      assertThat(served.values()).allMatch(n -> n == 1);
      device.assemble(file, tmp.resolve("out.onnx"));
      assertThat(Hashes.sha256(Files.readAllBytes(tmp.resolve("out.onnx"))))
          .isEqualTo(file.sha256());
    }
  }

  @Test
  void refusalsAreClearAndNothingBadIsStored() throws Exception {
    Broker broker = broker("embedded");
    PackageRepository repo = new PackageRepository(tmp.resolve("repo"));
    SignedPackage v1 = repo.publish(MODELS.resolve("face-blazeface-128"), PUBLISHER);
    try (Fleet f = fleet(broker, repo, "cam-bad")) {
      MqttChunkSource honest =
          new MqttChunkSource(f.deviceLink(), "cam-bad", Duration.ofSeconds(5));
      ChunkStore device = ChunkStore.packed(tmp.resolve("device"));

      // an unknown manifest: the server says so
      assertThatThrownBy(() -> new Delivery(honest, device).manifest("ab".repeat(32), 10_000))
          .isInstanceOf(DeliveryException.class)
          .hasMessageContaining("no package with manifest")
          .extracting(e -> ((DeliveryException) e).code())
          .isEqualTo("unknown_manifest");

      // a manifest that does not hash to what the twin named
      assertThatThrownBy(() -> SignedPackage.parse(v1.bytes(), "cd".repeat(32)))
          .extracting(e -> ((PackageRejectedException) e).code())
          .isEqualTo("manifest_hash_mismatch");

      // a byte flipped in transit: the chunk's hash refuses it
      ChunkSource flipping =
          tamper(
              honest,
              b -> {
                b[b.length / 2] ^= 1;
                return b;
              });
      assertThatThrownBy(
              () -> new Delivery(flipping, device).fetch(v1.sha256(), v1.manifest(), p -> {}))
          .extracting(e -> ((PackageRejectedException) e).code())
          .isEqualTo("chunk_hash_mismatch");

      // a truncated answer
      ChunkSource truncating = tamper(honest, b -> java.util.Arrays.copyOf(b, b.length - 1));
      assertThatThrownBy(
              () -> new Delivery(truncating, device).fetch(v1.sha256(), v1.manifest(), p -> {}))
          .extracting(e -> ((PackageRejectedException) e).code())
          .isEqualTo("chunk_truncated");

      // chunks outside the file, and garbage, are refused with an answer, not silence
      assertThatThrownBy(
              () -> honest.chunks(v1.sha256(), 0, v1.manifest().files().get(0), 0, 100_000).join())
          .hasCauseInstanceOf(DeliveryException.class)
          .hasMessageContaining("are not in file");
      byte[] junk = "{\"schema\":1,\"manifestSha256\":7}".getBytes();
      var answer =
          f.deviceLink()
              .request(
                  dev.massedge.sync.contract.Topics.chunkRequests("cam-bad"),
                  junk,
                  dev.massedge.sync.contract.Topics.chunkResponses("cam-bad"),
                  Duration.ofSeconds(5))
              .get();
      assertThat(MqttLink.userProperty(answer, "status"))
          .isIn("invalid_message", "unknown_manifest");

      // a request that wants its answer in another device's tree gets none: dropped, counted
      var misdirected =
          f.deviceLink()
              .request(
                  dev.massedge.sync.contract.Topics.chunkRequests("cam-bad"),
                  SyncCodec.write(
                      new SyncMessage.ChunkRequest(
                          SyncCodec.SCHEMA, v1.sha256(), SyncMessage.ChunkRequest.MANIFEST, 0, 0)),
                  dev.massedge.sync.contract.Topics.chunkResponses("cam-victim"),
                  Duration.ofSeconds(2));
      assertThatThrownBy(misdirected::join).hasCauseInstanceOf(TimeoutException.class);
      assertThat(f.server().misdirected()).isEqualTo(1);

      // whatever was refused was not stored; the honest source still completes the delivery
      Delivery.Progress p = new Delivery(honest, device).fetch(v1.sha256(), v1.manifest(), x -> {});
      assertThat(p.done()).isTrue();
      device.assemble(v1.manifest().files().get(0), tmp.resolve("ok.onnx"));
      assertThat(f.server().refused()).isGreaterThanOrEqualTo(3);
    }
  }

  /** A man in the middle: every chunk answer goes through {@code change}. */
  static ChunkSource tamper(ChunkSource inner, java.util.function.UnaryOperator<byte[]> change) {
    return new ChunkSource() {
      @Override
      public CompletableFuture<byte[]> manifest(String s) {
        return inner.manifest(s);
      }

      @Override
      public CompletableFuture<byte[]> chunks(
          String s, int fi, ModelManifest.FileEntry fe, int from, int to) {
        return inner.chunks(s, fi, fe, from, to).thenApply(change);
      }

      @Override
      public long payloadBytes() {
        return inner.payloadBytes();
      }
    };
  }

  @Test
  void httpRangeRequestsFetchOnlyMissingRuns() throws Exception {
    PackageRepository repo = new PackageRepository(tmp.resolve("repo"));
    SignedPackage v1 = repo.publish(MODELS.resolve("face-blazeface-256"), PUBLISHER);
    Path v2dir = variant(MODELS.resolve("face-blazeface-256"), tmp.resolve("v2"), "2", 0.20);
    SignedPackage v2 = repo.publish(v2dir, PUBLISHER);
    try (HttpChunkServer http = new HttpChunkServer(repo, new InetSocketAddress("127.0.0.1", 0))) {
      HttpChunkSource src =
          new HttpChunkSource(
              URI.create("http://127.0.0.1:" + http.port()), Duration.ofSeconds(10));
      ChunkStore device = ChunkStore.packed(tmp.resolve("device"));
      Delivery d = new Delivery(src, device, new RateLimiter(4 << 20), 4, 128 * 1024);
      d.fetch(v1.sha256(), d.manifest(v1.sha256(), 10_000).manifest(), x -> {});
      long before = http.bytesServed();
      d.fetch(v2.sha256(), d.manifest(v2.sha256(), 10_000).manifest(), x -> {});
      long delta = http.bytesServed() - before - v2.bytes().length;
      long size = v2.manifest().files().get(0).size();
      assertThat(delta).isPositive().isLessThanOrEqualTo((long) (size * 0.20 * 1.10));
      ModelManifest.FileEntry file2 = v2.manifest().files().get(0);
      device.assemble(file2, tmp.resolve("v2.onnx"));
      assertThat(Files.readAllBytes(tmp.resolve("v2.onnx")))
          .isEqualTo(Files.readAllBytes(v2dir.resolve(file2.path())));
      assertThatThrownBy(() -> src.manifest("ef".repeat(32)).join())
          .hasCauseInstanceOf(DeliveryException.class)
          .hasMessageContaining("404");
    }
  }

  @Test
  void theBandwidthLimitHolds() throws Exception {
    PackageRepository repo = new PackageRepository(tmp.resolve("repo"));
    SignedPackage v1 = repo.publish(MODELS.resolve("face-blazeface-128"), PUBLISHER);
    long size = v1.manifest().files().get(0).size();
    try (HttpChunkServer http = new HttpChunkServer(repo, new InetSocketAddress("127.0.0.1", 0))) {
      HttpChunkSource src =
          new HttpChunkSource(
              URI.create("http://127.0.0.1:" + http.port()), Duration.ofSeconds(10));
      long limit = size / 2; // bytes per second: the bucket's first second, then at least one more
      Delivery d =
          new Delivery(
              src, ChunkStore.packed(tmp.resolve("device")), new RateLimiter(limit), 2, 16 * 1024);
      long t0 = System.nanoTime();
      d.fetch(v1.sha256(), v1.manifest(), x -> {});
      double seconds = (System.nanoTime() - t0) / 1e9;
      // a lower bound only: the limiter must have made the delivery wait (no upper bound is
      // asserted)
      assertThat(seconds).isGreaterThanOrEqualTo(0.8);
    }
  }
}
