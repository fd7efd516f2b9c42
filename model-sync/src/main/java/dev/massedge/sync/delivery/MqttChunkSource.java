package dev.massedge.sync.delivery;

import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage.ChunkRequest;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.link.MqttLink;
import dev.massedge.sync.pkg.ModelManifest;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.paho.mqttv5.common.MqttMessage;

/** Chunks over MQTT 5 request/response: this device's own request and response topics. */
public final class MqttChunkSource implements ChunkSource {
  private final MqttLink link;
  private final String requestTopic;
  private final String responseTopic;
  private final Duration timeout;
  private final AtomicLong bytes = new AtomicLong();

  public MqttChunkSource(MqttLink link, String deviceId, Duration timeout) {
    this.link = link;
    this.requestTopic = Topics.chunkRequests(deviceId);
    this.responseTopic = Topics.chunkResponses(deviceId);
    this.timeout = timeout;
    link.listenForResponses(responseTopic);
  }

  @Override
  public CompletableFuture<byte[]> manifest(String manifestSha256) {
    return ask(new ChunkRequest(SyncCodec.SCHEMA, manifestSha256, ChunkRequest.MANIFEST, 0, 0));
  }

  @Override
  public CompletableFuture<byte[]> chunks(
      String manifestSha256, int fileIndex, ModelManifest.FileEntry file, int from, int to) {
    return ask(new ChunkRequest(SyncCodec.SCHEMA, manifestSha256, fileIndex, from, to));
  }

  private CompletableFuture<byte[]> ask(ChunkRequest r) {
    byte[] payload = SyncCodec.write(r);
    bytes.addAndGet(payload.length);
    return link.request(requestTopic, payload, responseTopic, timeout)
        .handle(
            (MqttMessage m, Throwable e) -> {
              if (e != null) {
                Throwable c =
                    e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                if (c instanceof TimeoutException) {
                  throw new DeliveryException("timeout", c.getMessage(), true);
                }
                throw new DeliveryException("link_down", c.getMessage(), true);
              }
              bytes.addAndGet(m.getPayload().length);
              String status = MqttLink.userProperty(m, "status");
              if (!"ok".equals(status)) {
                String msg = MqttLink.userProperty(m, "message");
                throw new DeliveryException(
                    status == null ? "invalid_response" : status,
                    "the chunk server refused: " + (msg == null ? "no reason given" : msg),
                    "server_error".equals(status));
              }
              return m.getPayload();
            });
  }

  @Override
  public long payloadBytes() {
    return bytes.get();
  }
}
