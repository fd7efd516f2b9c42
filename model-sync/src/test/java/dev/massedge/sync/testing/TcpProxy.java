package dev.massedge.sync.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP fault proxy in front of a server: counts the bytes on the wire each way; can cut every
 * connection and refuse new ones (a network cut) and let them through again, reset the open
 * connections (a flaky link), add latency with jitter (loss as TCP shows it) and limit bandwidth.
 */
public final class TcpProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int target;
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  private final AtomicLong up = new AtomicLong();
  private final AtomicLong down = new AtomicLong();
  private volatile boolean cut;
  private volatile boolean blackhole;
  private volatile long latencyNanos;
  private volatile long jitterNanos;
  private volatile long bytesPerSecond;

  public TcpProxy(int targetPort) throws IOException {
    this.target = targetPort;
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::accept, "tcp-proxy");
    t.setDaemon(true);
    t.start();
  }

  public int port() {
    return server.getLocalPort();
  }

  public String url() {
    return "tcp://127.0.0.1:" + port();
  }

  /** Client → server bytes. */
  public long bytesUp() {
    return up.get();
  }

  /** Server → client bytes. */
  public long bytesDown() {
    return down.get();
  }

  /** Drops every connection and refuses new ones until {@link #heal}. */
  public void cut() {
    cut = true;
    for (Socket s : open) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing
      }
    }
    open.clear();
  }

  public void heal() {
    cut = false;
  }

  /**
   * While on, new connections are accepted and then ignored: nothing is forwarded and nothing
   * answered (a dead server behind a load balancer, a half-open path).
   */
  public void blackhole(boolean on) {
    blackhole = on;
  }

  private void accept() {
    while (!server.isClosed()) {
      Socket client = null;
      try {
        client = server.accept();
        if (cut) {
          client.close();
          continue;
        }
        if (blackhole) {
          open.add(client);
          continue;
        }
        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
        client.setTcpNoDelay(true);
        upstream.setTcpNoDelay(true);
        open.add(client);
        open.add(upstream);
        pump(client, upstream, up);
        pump(upstream, client, down);
      } catch (IOException e) {
        // the server socket closed, or the target refused: the client sees its connection closed
        if (client != null) {
          try {
            client.close();
          } catch (IOException ignored) {
            // closing
          }
        }
      }
    }
  }

  /**
   * Delays every byte by {@code base} plus up to {@code jitter} (what packet loss looks like above
   * TCP: retransmissions arrive late, never out of order); zero turns it off. Applies to data read
   * from now on, both ways.
   */
  public void latency(Duration base, Duration jitter) {
    latencyNanos = base.toNanos();
    jitterNanos = jitter.toNanos();
  }

  /** Limits each direction of each connection to {@code bytesPerSecond}; 0 lifts the limit. */
  public void bandwidth(long bytesPerSecond) {
    this.bytesPerSecond = bytesPerSecond;
  }

  /** Resets every open connection (a flaky link) and keeps accepting new ones. */
  public void reset() {
    for (Socket s : open) {
      try {
        s.setSoLinger(true, 0);
        s.close();
      } catch (IOException ignored) {
        // closing
      }
    }
    open.clear();
  }

  private record Chunk(long at, byte[] bytes) {}

  private static final Chunk END = new Chunk(0, new byte[0]);

  /**
   * One direction: a reader stamps what it reads with its delivery time, a writer delivers it then
   * (and no faster than the bandwidth limit).
   */
  private void pump(Socket from, Socket to, AtomicLong counter) {
    BlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
    Thread reader =
        new Thread(
            () -> {
              byte[] buf = new byte[64 * 1024];
              long last = 0;
              try (InputStream in = from.getInputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                  long delay = latencyNanos;
                  if (jitterNanos > 0) {
                    delay += ThreadLocalRandom.current().nextLong(jitterNanos);
                  }
                  last = Math.max(last, System.nanoTime() + delay);
                  queue.add(new Chunk(last, Arrays.copyOf(buf, n)));
                }
              } catch (IOException e) {
                // connection ended
              } finally {
                queue.add(END);
              }
            },
            "tcp-proxy-read");
    Thread writer =
        new Thread(
            () -> {
              try (OutputStream out = to.getOutputStream()) {
                while (true) {
                  Chunk c = queue.take();
                  if (c == END) {
                    break;
                  }
                  long wait = c.at() - System.nanoTime();
                  if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                  }
                  out.write(c.bytes());
                  counter.addAndGet(c.bytes().length);
                  long limit = bytesPerSecond;
                  if (limit > 0) {
                    TimeUnit.NANOSECONDS.sleep(c.bytes().length * 1_000_000_000L / limit);
                  }
                }
              } catch (IOException | InterruptedException e) {
                // connection ended
              } finally {
                try {
                  from.close();
                  to.close();
                } catch (IOException ignored) {
                  // closing
                }
              }
            },
            "tcp-proxy-write");
    reader.setDaemon(true);
    writer.setDaemon(true);
    reader.start();
    writer.start();
  }

  @Override
  public void close() throws IOException {
    cut();
    server.close();
  }
}
