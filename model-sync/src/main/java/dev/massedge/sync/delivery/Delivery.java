package dev.massedge.sync.delivery;

import dev.massedge.sync.pkg.ChunkStore;
import dev.massedge.sync.pkg.ModelManifest;
import dev.massedge.sync.pkg.PackageRejectedException;
import dev.massedge.sync.pkg.SignedPackage;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Fetches what a device lacks of a package into its {@link ChunkStore}: runs of missing chunks go
 * out as requests of about {@code requestBytes}, {@code window} of them in flight, each chunk
 * checked against its hash as it is stored. Chunks already stored are never asked for again, so a
 * delivery cut by a lost link or a restart resumes where it stopped.
 */
public final class Delivery {
  /**
   * Requests in flight and bytes per request: 4 MiB outstanding, measured in docs/benchmarks.md.
   */
  public static final int WINDOW = 8;

  public static final int REQUEST_BYTES = 512 * 1024;

  private final ChunkSource source;
  private final ChunkStore store;
  private final RateLimiter limiter;
  private final int window;
  private final int requestBytes;

  /** Where a delivery stands. */
  public record Progress(int chunksNeeded, int chunksFetched, long bytesNeeded, long bytesFetched) {
    public boolean done() {
      return chunksFetched == chunksNeeded;
    }
  }

  private record Request(int file, int from, int to, long bytes) {}

  /** A request on its way, and its answer to come. */
  private record InFlight(Request request, CompletableFuture<byte[]> answer) {}

  public Delivery(
      ChunkSource source, ChunkStore store, RateLimiter limiter, int window, int requestBytes) {
    this.source = source;
    this.store = store;
    this.limiter = limiter;
    this.window = Math.max(1, window);
    // on a limited link, requests of at most a quarter second's worth: smooth, and little lost to
    // a cut
    long limit = limiter.bytesPerSecond();
    this.requestBytes =
        (int)
            Math.max(
                1,
                limit > 0 ? Math.min(requestBytes, Math.max(16 * 1024, limit / 4)) : requestBytes);
  }

  public Delivery(ChunkSource source, ChunkStore store) {
    this(source, store, RateLimiter.unlimited(), WINDOW, REQUEST_BYTES);
  }

  /** Fetches and checks the signed manifest the twin names. */
  public SignedPackage manifest(String manifestSha256, long timeoutMillis)
      throws InterruptedException {
    return SignedPackage.parse(
        await(source.manifest(manifestSha256), timeoutMillis), manifestSha256);
  }

  /** What is missing, as requests. */
  private List<Request> plan(ModelManifest m) {
    List<Request> out = new ArrayList<>();
    Set<String> planned = new HashSet<>();
    for (int f = 0; f < m.files().size(); f++) {
      List<ModelManifest.ChunkRef> refs = m.files().get(f).chunks();
      int start = -1;
      long run = 0;
      for (int i = 0; i <= refs.size(); i++) {
        boolean missing =
            i < refs.size()
                && !store.has(refs.get(i).sha256())
                && !planned.contains(refs.get(i).sha256());
        if (missing && start < 0) {
          start = i;
          run = 0;
        }
        if (start >= 0 && (!missing || run + refs.get(i).size() > requestBytes && run > 0)) {
          out.add(new Request(f, start, i, run));
          start = missing ? i : -1;
          run = 0;
        }
        if (missing) {
          planned.add(refs.get(i).sha256());
          run += refs.get(i).size();
        }
      }
    }
    return out;
  }

  /** Fetches every missing chunk; returns the final progress. Throws on the first failure. */
  public Progress fetch(String manifestSha256, ModelManifest m, Consumer<Progress> progress)
      throws IOException, InterruptedException {
    List<Request> todo = plan(m);
    int chunksNeeded = todo.stream().mapToInt(r -> r.to() - r.from()).sum();
    long bytesNeeded = todo.stream().mapToLong(Request::bytes).sum();
    int chunks = 0;
    long bytes = 0;
    ArrayDeque<Request> queue = new ArrayDeque<>(todo);
    ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
    while (!queue.isEmpty() || !inFlight.isEmpty()) {
      while (inFlight.size() < window && !queue.isEmpty()) {
        Request r = queue.poll();
        limiter.acquire(r.bytes());
        ModelManifest.FileEntry f = m.files().get(r.file());
        inFlight.add(new InFlight(r, source.chunks(manifestSha256, r.file(), f, r.from(), r.to())));
      }
      InFlight head = inFlight.poll();
      Request r = head.request();
      byte[] body = await(head.answer(), 120_000);
      try {
        store(m.files().get(r.file()), r, body);
      } catch (RuntimeException | IOException e) {
        inFlight.forEach(x -> x.answer().cancel(true));
        throw e;
      }
      chunks += r.to() - r.from();
      bytes += body.length;
      progress.accept(new Progress(chunksNeeded, chunks, bytesNeeded, bytes));
    }
    return new Progress(chunksNeeded, chunks, bytesNeeded, bytes);
  }

  private void store(ModelManifest.FileEntry f, Request r, byte[] body) throws IOException {
    if (body.length != r.bytes()) {
      throw new PackageRejectedException(
          "chunk_truncated",
          "file "
              + f.path()
              + " chunks ["
              + r.from()
              + ", "
              + r.to()
              + ") arrived as "
              + body.length
              + " bytes, the manifest says "
              + r.bytes());
    }
    int at = 0;
    for (int i = r.from(); i < r.to(); i++) {
      ModelManifest.ChunkRef c = f.chunks().get(i);
      byte[] part = java.util.Arrays.copyOfRange(body, at, at + c.size());
      at += c.size();
      if (!store.has(c.sha256())) {
        store.put(c, part);
      }
    }
  }

  private static byte[] await(CompletableFuture<byte[]> f, long timeoutMillis)
      throws InterruptedException {
    try {
      return f.get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new DeliveryException("link_down", String.valueOf(e.getCause()), true);
    } catch (TimeoutException e) {
      f.cancel(true);
      throw new DeliveryException("timeout", "no answer within " + timeoutMillis + " ms", true);
    }
  }
}
