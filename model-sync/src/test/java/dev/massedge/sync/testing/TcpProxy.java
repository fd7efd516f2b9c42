package dev.massedge.sync.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy in front of a server: counts the bytes on the wire each way, and can cut every
 * connection and refuse new ones (a network cut), then let them through again.
 */
public final class TcpProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int target;
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  private final AtomicLong up = new AtomicLong();
  private final AtomicLong down = new AtomicLong();
  private volatile boolean cut;

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

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        if (cut) {
          client.close();
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
        // the server socket closed, or the target refused: the client sees a closed connection
      }
    }
  }

  private void pump(Socket from, Socket to, AtomicLong counter) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[64 * 1024];
              try (InputStream in = from.getInputStream();
                  OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                  out.write(buf, 0, n);
                  counter.addAndGet(n);
                }
              } catch (IOException e) {
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
            "tcp-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() throws IOException {
    cut();
    server.close();
  }
}
