package dev.massedge.sync.delivery;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Packages over plain HTTP, the alternative to MQTT for devices behind proxies or on links where a
 * CDN helps: {@code GET /v1/packages/<manifest sha256>} gives the signed manifest, {@code GET
 * /v1/files/<file sha256>} a file, honouring one {@code Range: bytes=a-b} (206) so a device fetches
 * only the runs of chunks it lacks. Content-addressed, so responses are immutable and cacheable.
 */
public final class HttpChunkServer implements AutoCloseable {
  private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d*)");
  private final HttpServer server;
  private final PackageRepository repo;
  private final AtomicLong bytesServed = new AtomicLong();

  public HttpChunkServer(PackageRepository repo, InetSocketAddress address) throws IOException {
    this.repo = repo;
    server = HttpServer.create(address, 64);
    server.createContext("/v1/packages/", this::manifest);
    server.createContext("/v1/files/", this::file);
    server.setExecutor(
        Executors.newFixedThreadPool(
            4,
            r -> {
              Thread t = new Thread(r, "http-chunks");
              t.setDaemon(true);
              return t;
            }));
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  public long bytesServed() {
    return bytesServed.get();
  }

  private void manifest(HttpExchange x) throws IOException {
    try (x) {
      String sha = x.getRequestURI().getPath().substring("/v1/packages/".length());
      byte[] b = repo.manifestBytes(sha);
      if (b == null) {
        error(x, 404, "no package with manifest " + sha);
        return;
      }
      x.getResponseHeaders().set("Content-Type", "application/json");
      x.getResponseHeaders().set("Cache-Control", "public, max-age=31536000, immutable");
      x.sendResponseHeaders(200, b.length);
      x.getResponseBody().write(b);
      bytesServed.addAndGet(b.length);
    }
  }

  private void file(HttpExchange x) throws IOException {
    try (x) {
      String sha = x.getRequestURI().getPath().substring("/v1/files/".length());
      Path f = repo.file(sha);
      if (f == null) {
        error(x, 404, "no file " + sha);
        return;
      }
      try (FileChannel ch = FileChannel.open(f)) {
        long size = ch.size();
        long from = 0;
        long to = size - 1;
        String range = x.getRequestHeaders().getFirst("Range");
        int status = 200;
        if (range != null) {
          Matcher m = RANGE.matcher(range.trim());
          if (!m.matches()) {
            error(x, 416, "only one 'bytes=a-b' range is served, not '" + range + "'");
            return;
          }
          from = Long.parseLong(m.group(1));
          to = m.group(2).isEmpty() ? size - 1 : Math.min(size - 1, Long.parseLong(m.group(2)));
          if (from > to || from >= size) {
            x.getResponseHeaders().set("Content-Range", "bytes */" + size);
            error(x, 416, "range " + range + " is outside the file's " + size + " bytes");
            return;
          }
          status = 206;
          x.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + to + "/" + size);
        }
        long len = to - from + 1;
        x.getResponseHeaders().set("Accept-Ranges", "bytes");
        x.getResponseHeaders().set("Content-Type", "application/octet-stream");
        x.sendResponseHeaders(status, len);
        try (InputStream in = Channels.newInputStream(ch.position(from))) {
          OutputStream out = x.getResponseBody();
          byte[] buf = new byte[64 * 1024];
          long left = len;
          while (left > 0) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
              break;
            }
            out.write(buf, 0, n);
            left -= n;
          }
        }
        bytesServed.addAndGet(len);
      }
    }
  }

  private static void error(HttpExchange x, int status, String message) throws IOException {
    byte[] b =
        ("{\"error\":\"" + message.replace("\"", "'") + "\"}").getBytes(StandardCharsets.UTF_8);
    x.getResponseHeaders().set("Content-Type", "application/json");
    x.sendResponseHeaders(status, b.length);
    x.getResponseBody().write(b);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
