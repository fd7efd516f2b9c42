package dev.massedge.sync.delivery;

import dev.massedge.sync.contract.MessageRejectedException;
import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage.ChunkRequest;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.link.MqttLink;
import dev.massedge.sync.pkg.ModelManifest;
import dev.massedge.sync.pkg.SignedPackage;
import java.io.ByteArrayOutputStream;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves chunk requests from a {@link PackageRepository} over MQTT 5: subscribes to the shared
 * request topic (several servers share the load), answers on each request's response topic with its
 * correlation data. A good answer is the chunks' bytes back to back with the user property {@code
 * status=ok}; a refusal is {@code status=<code>} and {@code message}, never silence. A request may
 * span at most {@link #MAX_RESPONSE_BYTES}.
 */
public final class ChunkServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ChunkServer.class);
  public static final int MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

  /** What one request asked for, for accounting. */
  public record Served(String manifestSha256, int file, int from, int to, int bytes) {}

  private final MqttLink link;
  private final PackageRepository repo;
  private final ExecutorService workers;
  private final AtomicLong bytesServed = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private volatile Consumer<Served> listener = s -> {};

  public ChunkServer(MqttLink link, PackageRepository repo, int threads) {
    this.link = link;
    this.repo = repo;
    this.workers =
        Executors.newFixedThreadPool(
            threads,
            r -> {
              Thread t = new Thread(r, "chunk-server");
              t.setDaemon(true);
              return t;
            });
    link.subscribe(
        Topics.CHUNK_REQUESTS_SHARED, 1, (topic, m) -> workers.execute(() -> serve(topic, m)));
  }

  public void onServed(Consumer<Served> l) {
    this.listener = l;
  }

  public long bytesServed() {
    return bytesServed.get();
  }

  private final java.util.concurrent.atomic.AtomicLong misdirected =
      new java.util.concurrent.atomic.AtomicLong();

  public long refused() {
    return refused.get();
  }

  /** Requests whose answer would go to another device's tree: dropped unanswered, counted. */
  public long misdirected() {
    return misdirected.get();
  }

  private void serve(String topic, MqttMessage m) {
    String replyTo = m.getProperties() == null ? null : m.getProperties().getResponseTopic();
    String expected;
    try {
      expected = Topics.chunkResponses(Topics.parse(topic).deviceId());
    } catch (MessageRejectedException e) {
      expected = null;
    }
    if (expected == null || !expected.equals(replyTo)) {
      // answering would write into a tree the asker may not read: not an answer, an attack
      misdirected.incrementAndGet();
      log.warn("chunk request on {} wants its answer on {}: dropped", topic, replyTo);
      return;
    }
    try {
      ChunkRequest r = SyncCodec.read(m.getPayload(), ChunkRequest.class);
      SignedPackage p = r.manifestSha256() == null ? null : repo.manifest(r.manifestSha256());
      if (p == null) {
        refuse(m, "unknown_manifest", "no package with manifest " + r.manifestSha256());
        return;
      }
      if (r.file() == ChunkRequest.MANIFEST) {
        byte[] b = repo.manifestBytes(r.manifestSha256());
        reply(m, r, b);
        return;
      }
      if (r.file() < 0 || r.file() >= p.manifest().files().size()) {
        refuse(m, "invalid_request", "file " + r.file() + " is not in the package");
        return;
      }
      ModelManifest.FileEntry f = p.manifest().files().get(r.file());
      if (r.from() < 0 || r.to() > f.chunks().size() || r.from() >= r.to()) {
        refuse(
            m,
            "invalid_request",
            "chunks ["
                + r.from()
                + ", "
                + r.to()
                + ") are not in file "
                + f.path()
                + " ("
                + f.chunks().size()
                + " chunks)");
        return;
      }
      long size = f.length(r.from(), r.to());
      if (size > MAX_RESPONSE_BYTES) {
        refuse(
            m,
            "too_large",
            size + " bytes asked for; at most " + MAX_RESPONSE_BYTES + " per request");
        return;
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream((int) size);
      repo.writeChunks(f, r.from(), r.to(), out);
      reply(m, r, out.toByteArray());
    } catch (MessageRejectedException e) {
      refuse(m, e.code(), e.getMessage());
    } catch (Exception e) {
      log.warn("chunk request failed: {}", e.toString());
      refuse(m, "server_error", e.getMessage());
    }
  }

  private void reply(MqttMessage m, ChunkRequest r, byte[] body) {
    bytesServed.addAndGet(body.length);
    link.respond(m, body, Map.of("status", "ok"));
    listener.accept(new Served(r.manifestSha256(), r.file(), r.from(), r.to(), body.length));
  }

  private void refuse(MqttMessage m, String code, String message) {
    refused.incrementAndGet();
    link.respond(m, new byte[0], Map.of("status", code, "message", String.valueOf(message)));
  }

  @Override
  public void close() {
    workers.shutdownNow();
  }
}
