package dev.massedge.sync.delivery;

import dev.massedge.sync.pkg.ModelManifest;
import java.util.concurrent.CompletableFuture;

/** Where a device fetches a package from: MQTT 5 request/response, or HTTP range requests. */
public interface ChunkSource {
  /** The signed manifest's bytes. */
  CompletableFuture<byte[]> manifest(String manifestSha256);

  /** Chunks {@code [from, to)} of file number {@code fileIndex}, back to back. */
  CompletableFuture<byte[]> chunks(
      String manifestSha256, int fileIndex, ModelManifest.FileEntry file, int from, int to);

  /** Bytes this source has sent and received in payloads (requests and answers). */
  long payloadBytes();
}
