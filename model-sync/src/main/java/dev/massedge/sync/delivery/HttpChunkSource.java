package dev.massedge.sync.delivery;

import dev.massedge.sync.pkg.ModelManifest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/** Chunks by HTTP range requests on content-addressed files ({@link HttpChunkServer}). */
public final class HttpChunkSource implements ChunkSource {
  private final HttpClient http;
  private final URI base;
  private final Duration timeout;
  private final AtomicLong bytes = new AtomicLong();

  public HttpChunkSource(URI base, Duration timeout) {
    this.base = base;
    this.timeout = timeout;
    this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
  }

  @Override
  public CompletableFuture<byte[]> manifest(String manifestSha256) {
    return get(HttpRequest.newBuilder(base.resolve("/v1/packages/" + manifestSha256)), 200);
  }

  @Override
  public CompletableFuture<byte[]> chunks(
      String manifestSha256, int fileIndex, ModelManifest.FileEntry file, int from, int to) {
    long offset = file.length(0, from);
    long len = file.length(from, to);
    return get(
        HttpRequest.newBuilder(base.resolve("/v1/files/" + file.sha256()))
            .header("Range", "bytes=" + offset + "-" + (offset + len - 1)),
        206);
  }

  private CompletableFuture<byte[]> get(HttpRequest.Builder b, int expected) {
    return http.sendAsync(b.timeout(timeout).GET().build(), HttpResponse.BodyHandlers.ofByteArray())
        .handle(
            (r, e) -> {
              if (e != null) {
                throw new DeliveryException("link_down", "HTTP: " + e.getMessage(), true);
              }
              bytes.addAndGet(r.body().length);
              if (r.statusCode() != expected) {
                String why = new String(r.body(), StandardCharsets.UTF_8);
                throw new DeliveryException(
                    r.statusCode() == 404 ? "unknown_manifest" : "http_" + r.statusCode(),
                    "HTTP " + r.statusCode() + " from " + r.uri() + ": " + why,
                    r.statusCode() >= 500);
              }
              return r.body();
            });
  }

  @Override
  public long payloadBytes() {
    return bytes.get();
  }
}
