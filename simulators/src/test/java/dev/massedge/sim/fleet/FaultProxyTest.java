package dev.massedge.sim.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The fleet's fault proxy in front of a real TCP echo server: bytes pass unchanged both ways on
 * every lane, a cut hits only its share of the lanes and heals, a reset is a reset, latency and a
 * bandwidth limit hold traffic back at least as long as asked, data sent before a close still
 * arrives, and hundreds of connections share its one thread.
 */
class FaultProxyTest {
  private ServerSocket echo;
  private final ExecutorService pool = Executors.newCachedThreadPool();
  private FaultProxy proxy;

  @BeforeEach
  void start() throws IOException {
    echo = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
    pool.submit(
        () -> {
          while (!echo.isClosed()) {
            Socket s = echo.accept();
            pool.submit(
                () -> {
                  try (s;
                      InputStream in = s.getInputStream();
                      OutputStream out = s.getOutputStream()) {
                    in.transferTo(out);
                  }
                  return null;
                });
          }
          return null;
        });
    proxy = new FaultProxy(echo.getLocalPort(), 4);
  }

  @AfterEach
  void stop() throws IOException {
    proxy.close();
    echo.close();
    pool.shutdownNow();
  }

  private Socket connect(int lane) throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port(lane));
    s.setSoTimeout(10_000);
    return s;
  }

  private static byte[] roundTrip(Socket s, byte[] data) throws IOException {
    s.getOutputStream().write(data);
    s.getOutputStream().flush();
    byte[] back = new byte[data.length];
    int n = 0;
    while (n < data.length) {
      int r = s.getInputStream().read(back, n, data.length - n);
      if (r < 0) {
        throw new IOException("closed after " + n + " bytes");
      }
      n += r;
    }
    return back;
  }

  private static byte[] random(int n) {
    byte[] b = new byte[n];
    new Random(n).nextBytes(b);
    return b;
  }

  @Test
  void passesBytesUnchangedOnEveryLaneAndCountsThem() throws IOException {
    byte[] data = random(300_000);
    for (int lane = 0; lane < proxy.lanes(); lane++) {
      try (Socket s = connect(lane)) {
        assertThat(roundTrip(s, data)).isEqualTo(data);
      }
    }
    assertThat(proxy.bytesUp()).isEqualTo(4L * data.length);
    // counted just after the write the client has already read
    await().atMost(Duration.ofSeconds(5)).until(() -> proxy.bytesDown() == 4L * data.length);
    assertThat(proxy.connections()).isEqualTo(4);
    assertThat(proxy.port(5)).isEqualTo(proxy.port(1));
  }

  @Test
  void aCutDropsAndRefusesItsShareOfTheLanesUntilHealed() throws IOException {
    byte[] ping = random(100);
    Socket a = connect(0);
    Socket b = connect(1);
    Socket c = connect(2);
    assertThat(roundTrip(a, ping)).isEqualTo(ping);
    assertThat(roundTrip(c, ping)).isEqualTo(ping);
    assertThat(proxy.lanes(0, 0.5)).containsExactly(0, 1);
    assertThat(proxy.lanes(0.75, 0.3)).containsExactly(3, 0);
    assertThat(proxy.covers(0, 0.5, 1)).isTrue();
    assertThat(proxy.covers(0, 0.5, 2)).isFalse();

    proxy.change(0, 0.5, cond -> cond.withCut(true));
    assertThatThrownBy(() -> roundTrip(a, ping)).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> roundTrip(b, ping)).isInstanceOf(IOException.class);
    assertThat(roundTrip(c, ping)).as("lane 2 is not in the cut").isEqualTo(ping);
    try (Socket refused = connect(1)) {
      assertThatThrownBy(() -> roundTrip(refused, ping)).isInstanceOf(IOException.class);
    }

    proxy.change(0, 0.5, cond -> cond.withCut(false));
    try (Socket again = connect(0)) {
      assertThat(roundTrip(again, ping)).isEqualTo(ping);
    }
    a.close();
    b.close();
    c.close();
  }

  @Test
  void aResetIsAResetAndNewConnectionsAreLetIn() throws IOException {
    byte[] ping = random(100);
    try (Socket s = connect(0)) {
      assertThat(roundTrip(s, ping)).isEqualTo(ping);
      proxy.reset(0, 0.25);
      assertThatThrownBy(() -> s.getInputStream().read())
          .isInstanceOf(SocketException.class)
          .hasMessageContaining("reset");
    }
    try (Socket s = connect(0)) {
      assertThat(roundTrip(s, ping)).isEqualTo(ping);
    }
  }

  @Test
  void latencyAndBandwidthHoldTrafficBackAtLeastAsLongAsAsked() throws IOException {
    byte[] ping = random(10);
    proxy.change(0, 1.0, cond -> cond.withLatency(150, 50));
    try (Socket s = connect(3)) {
      long t0 = System.nanoTime();
      assertThat(roundTrip(s, ping)).isEqualTo(ping);
      // 150 ms each way at least; only a lower bound is certain on a shared machine
      assertThat((System.nanoTime() - t0) / 1_000_000).isGreaterThanOrEqualTo(300);
    }
    proxy.change(0, 1.0, cond -> cond.withLatency(0, 0).withBandwidth(40_000));
    byte[] data = random(40_000);
    try (Socket s = connect(2)) {
      long t0 = System.nanoTime();
      assertThat(roundTrip(s, data)).isEqualTo(data);
      // 40 KB up at 40 KB/s, then down at 40 KB/s, pipelined: at least about a second
      assertThat((System.nanoTime() - t0) / 1_000_000).isGreaterThanOrEqualTo(900);
    }
  }

  @Test
  void whatWasSentBeforeACloseStillArrives() throws IOException {
    proxy.change(0, 1.0, cond -> cond.withLatency(100, 0));
    byte[] data = random(50_000);
    try (Socket s = connect(0)) {
      s.getOutputStream().write(data);
      s.shutdownOutput(); // the echo server sees the end only after the data, then closes
      ByteArrayOutputStream back = new ByteArrayOutputStream();
      s.getInputStream().transferTo(back);
      assertThat(back.toByteArray()).isEqualTo(data);
    }
  }

  @Test
  void hundredsOfConnectionsShareItsOneThread() throws Exception {
    int threadsBefore = Thread.activeCount();
    List<Socket> sockets = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      sockets.add(connect(i));
    }
    List<Future<byte[]>> answers = new ArrayList<>();
    ExecutorService clients = Executors.newFixedThreadPool(16);
    for (int i = 0; i < sockets.size(); i++) {
      Socket s = sockets.get(i);
      byte[] data = random(1000 + i);
      answers.add(clients.submit(() -> roundTrip(s, data)));
    }
    for (int i = 0; i < answers.size(); i++) {
      assertThat(answers.get(i).get()).isEqualTo(random(1000 + i));
    }
    clients.shutdown();
    assertThat(proxy.connections()).isEqualTo(300);
    // the echo server has a thread per connection; the proxy adds none
    assertThat(Thread.activeCount() - threadsBefore).isLessThanOrEqualTo(300 + 16 + 2);
    for (Socket s : sockets) {
      s.close();
    }
  }
}
