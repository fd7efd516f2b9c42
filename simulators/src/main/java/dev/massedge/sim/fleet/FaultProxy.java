package dev.massedge.sim.fleet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * A TCP fault proxy in front of a broker for a whole simulated fleet, on one thread (non-blocking
 * channels): thousands of connections cost two sockets each, not threads. Its listening ports are
 * <em>lanes</em>; a device always uses the lane {@link #port(int)} gives it, so a fault on a share
 * of the lanes hits that share of the fleet. Per lane: a network cut (open connections dropped, new
 * ones refused until healed), latency with jitter (what packet loss looks like above TCP:
 * retransmissions arrive late, never out of order), a bandwidth limit per direction and connection,
 * and resets of every open connection (a flaky link).
 */
public final class FaultProxy implements AutoCloseable {
  /** Bytes queued in one direction of a connection before the proxy stops reading its source. */
  private static final int MAX_QUEUED = 1 << 20;

  private final Selector selector;
  private final InetSocketAddress target;
  private final Lane[] lanes;
  private final Queue<Runnable> commands = new ConcurrentLinkedQueue<>();
  private final Set<Flow> busy = new HashSet<>();
  private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(64 * 1024);
  private final AtomicLong bytesUp = new AtomicLong();
  private final AtomicLong bytesDown = new AtomicLong();
  private final AtomicLong connections = new AtomicLong();
  private final Thread thread;
  private volatile boolean closed;

  /** What a lane does to its traffic; {@link #NORMAL} passes it as it is. */
  public record Condition(boolean cut, long latencyMillis, long jitterMillis, long bytesPerSecond) {
    public static final Condition NORMAL = new Condition(false, 0, 0, 0);

    public Condition withCut(boolean on) {
      return new Condition(on, latencyMillis, jitterMillis, bytesPerSecond);
    }

    public Condition withLatency(long millis, long jitter) {
      return new Condition(cut, millis, jitter, bytesPerSecond);
    }

    public Condition withBandwidth(long perSecond) {
      return new Condition(cut, latencyMillis, jitterMillis, perSecond);
    }
  }

  private static final class Lane {
    final ServerSocketChannel server;
    final Set<Conn> open = new HashSet<>();
    Condition condition = Condition.NORMAL;

    Lane(ServerSocketChannel server) {
      this.server = server;
    }
  }

  private record Chunk(long at, ByteBuffer bytes) {}

  /** One direction of a connection. */
  private final class Flow {
    final Conn conn;
    final boolean up;
    final ArrayDeque<Chunk> queue = new ArrayDeque<>();
    long queued;
    long lastAt;
    long nextFree;
    boolean eof;
    boolean blocked;

    Flow(Conn conn, boolean up) {
      this.conn = conn;
      this.up = up;
    }

    SocketChannel from() {
      return up ? conn.client : conn.server;
    }

    SocketChannel to() {
      return up ? conn.server : conn.client;
    }
  }

  private final class Conn {
    final Lane lane;
    final SocketChannel client;
    final SocketChannel server;
    final Flow up = new Flow(this, true);
    final Flow down = new Flow(this, false);
    boolean connected;
    boolean closed;

    Conn(Lane lane, SocketChannel client, SocketChannel server) {
      this.lane = lane;
      this.client = client;
      this.server = server;
    }
  }

  /** Listens on {@code lanes} loopback ports and forwards to {@code targetPort} on loopback. */
  public FaultProxy(int targetPort, int lanes) throws IOException {
    if (lanes < 1) {
      throw new IllegalArgumentException("a fault proxy needs at least one lane");
    }
    this.target = new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort);
    this.selector = Selector.open();
    this.lanes = new Lane[lanes];
    for (int i = 0; i < lanes; i++) {
      ServerSocketChannel s = ServerSocketChannel.open();
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
      s.configureBlocking(false);
      this.lanes[i] = new Lane(s);
      s.register(selector, SelectionKey.OP_ACCEPT, this.lanes[i]);
    }
    thread = new Thread(this::loop, "fault-proxy");
    thread.setDaemon(true);
    thread.start();
  }

  public int lanes() {
    return lanes.length;
  }

  /** The port device number {@code n} (from 0) connects to. */
  public int port(int n) {
    return lanes[Math.floorMod(n, lanes.length)].server.socket().getLocalPort();
  }

  /**
   * The lanes a part of the fleet uses: {@code share} of them (rounded up to whole lanes) from the
   * lane at {@code from} (a share too, rounded down), wrapping around.
   */
  public List<Integer> lanes(double from, double share) {
    int first = (int) Math.floor(from * lanes.length + 1e-9);
    int n = (int) Math.min(lanes.length, Math.ceil(share * lanes.length - 1e-9));
    List<Integer> list = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      list.add(Math.floorMod(first + i, lanes.length));
    }
    return list;
  }

  /** Whether device number {@code n} uses one of {@link #lanes(double, double)}. */
  public boolean covers(double from, double share, int n) {
    return lanes(from, share).contains(Math.floorMod(n, lanes.length));
  }

  public long bytesUp() {
    return bytesUp.get();
  }

  public long bytesDown() {
    return bytesDown.get();
  }

  /** Connections accepted so far (reconnections included). */
  public long connections() {
    return connections.get();
  }

  /**
   * Changes the condition of the lanes {@link #lanes(double, double)} gives (a cut drops their open
   * connections at once); returns when it is in force. Faults on other aspects stay as they are.
   */
  public void change(double from, double share, UnaryOperator<Condition> change) {
    onLanes(
        from,
        share,
        lane -> {
          lane.condition = change.apply(lane.condition);
          if (lane.condition.cut()) {
            closeAll(lane, false);
          }
        });
  }

  /** Resets every open connection of these lanes; new ones are let in. */
  public void reset(double from, double share) {
    onLanes(from, share, lane -> closeAll(lane, true));
  }

  private void onLanes(double from, double share, Consumer<Lane> change) {
    List<Integer> which = lanes(from, share);
    CompletableFuture<Void> done = new CompletableFuture<>();
    commands.add(
        () -> {
          for (int i : which) {
            change.accept(lanes[i]);
          }
          done.complete(null);
        });
    selector.wakeup();
    try {
      done.get(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("the fault proxy did not take the change", e);
    }
  }

  private void loop() {
    while (!closed) {
      try {
        Runnable r;
        while ((r = commands.poll()) != null) {
          r.run();
        }
        long wake = flushAll();
        long now = System.nanoTime();
        if (wake == Long.MAX_VALUE) {
          selector.select();
        } else if (wake <= now) {
          selector.selectNow();
        } else {
          selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(wake - now)));
        }
        for (SelectionKey k : selector.selectedKeys()) {
          if (!k.isValid()) {
            continue;
          }
          if (k.attachment() instanceof Lane lane) {
            accept(lane);
          } else if (k.attachment() instanceof Conn c) {
            ready(c, k);
          }
        }
        selector.selectedKeys().clear();
      } catch (IOException | RuntimeException e) {
        if (!closed) {
          System.err.println("fault proxy: " + e);
        }
      }
    }
  }

  private void accept(Lane lane) throws IOException {
    SocketChannel client;
    while ((client = lane.server.accept()) != null) {
      if (lane.condition.cut()) {
        client.close();
        continue;
      }
      connections.incrementAndGet();
      client.configureBlocking(false);
      client.setOption(StandardSocketOptions.TCP_NODELAY, true);
      SocketChannel server = SocketChannel.open();
      server.configureBlocking(false);
      server.setOption(StandardSocketOptions.TCP_NODELAY, true);
      Conn c = new Conn(lane, client, server);
      lane.open.add(c);
      client.register(selector, SelectionKey.OP_READ, c);
      try {
        c.connected = server.connect(target);
        server.register(selector, c.connected ? SelectionKey.OP_READ : SelectionKey.OP_CONNECT, c);
      } catch (IOException e) {
        close(c, false);
      }
    }
  }

  private void ready(Conn c, SelectionKey k) {
    if (c.closed) {
      return;
    }
    SocketChannel ch = (SocketChannel) k.channel();
    try {
      if (k.isConnectable()) {
        ch.finishConnect();
        c.connected = true;
        busy.add(c.up);
      }
      if (k.isValid() && k.isWritable()) {
        (ch == c.server ? c.up : c.down).blocked = false;
        busy.add(ch == c.server ? c.up : c.down);
      }
      if (k.isValid() && k.isReadable()) {
        read(ch == c.client ? c.up : c.down);
      }
      interest(c);
    } catch (IOException e) {
      close(c, false);
    }
  }

  private void read(Flow f) throws IOException {
    readBuffer.clear();
    int n = f.from().read(readBuffer);
    if (n < 0) {
      f.eof = true;
      busy.add(f);
      return;
    }
    if (n == 0) {
      return;
    }
    readBuffer.flip();
    ByteBuffer copy = ByteBuffer.allocate(n);
    copy.put(readBuffer).flip();
    Condition cond = f.conn.lane.condition;
    long delay = TimeUnit.MILLISECONDS.toNanos(cond.latencyMillis());
    if (cond.jitterMillis() > 0) {
      delay +=
          ThreadLocalRandom.current().nextLong(TimeUnit.MILLISECONDS.toNanos(cond.jitterMillis()));
    }
    f.lastAt = Math.max(f.lastAt, System.nanoTime() + delay);
    f.queue.add(new Chunk(f.lastAt, copy));
    f.queued += n;
    busy.add(f);
  }

  /** Writes what is due on every flow with queued data; returns when the next chunk falls due. */
  private long flushAll() {
    long wake = Long.MAX_VALUE;
    List<Flow> done = new ArrayList<>();
    for (Flow f : new ArrayList<>(busy)) {
      if (f.conn.closed) {
        done.add(f);
        continue;
      }
      try {
        long next = flush(f);
        if (next == Long.MAX_VALUE) {
          done.add(f);
        }
        wake = Math.min(wake, next);
        interest(f.conn);
      } catch (IOException e) {
        close(f.conn, false);
        done.add(f);
      }
    }
    done.forEach(busy::remove);
    return wake;
  }

  /** Long.MAX_VALUE when there is nothing more to do until something is read or writable. */
  private long flush(Flow f) throws IOException {
    if (!f.conn.connected || f.blocked) {
      return Long.MAX_VALUE;
    }
    long now = System.nanoTime();
    while (!f.queue.isEmpty()) {
      Chunk head = f.queue.peek();
      long due = Math.max(head.at(), f.nextFree);
      if (due > now) {
        return due;
      }
      long bps = f.conn.lane.condition.bytesPerSecond();
      ByteBuffer bytes = head.bytes();
      int limit = bytes.limit();
      if (bps > 0) {
        // under a limit, slices of 50 ms each, so that a burst is paced too
        bytes.limit(bytes.position() + (int) Math.min(bytes.remaining(), Math.max(512, bps / 20)));
      }
      int n = f.to().write(bytes);
      bytes.limit(limit);
      (f.up ? bytesUp : bytesDown).addAndGet(n);
      f.queued -= n;
      if (bps > 0) {
        f.nextFree = Math.max(f.nextFree, now) + n * 1_000_000_000L / bps;
        if (bytes.hasRemaining() && n > 0 && f.nextFree > now) {
          continue; // the rest of the chunk when its time comes
        }
      }
      if (head.bytes().hasRemaining()) {
        f.blocked = true;
        return Long.MAX_VALUE;
      }
      f.queue.poll();
    }
    if (f.eof) {
      // the source closed: pass the close on once everything before it is delivered
      f.to().shutdownOutput();
      if (f.conn.up.eof && f.conn.down.eof) {
        close(f.conn, false);
      }
    }
    return Long.MAX_VALUE;
  }

  private void interest(Conn c) {
    if (c.closed) {
      return;
    }
    set(c.client, readable(c.up) | (c.down.blocked ? SelectionKey.OP_WRITE : 0));
    if (c.connected) {
      set(c.server, readable(c.down) | (c.up.blocked ? SelectionKey.OP_WRITE : 0));
    }
  }

  private static int readable(Flow f) {
    return f.eof || f.queued > MAX_QUEUED ? 0 : SelectionKey.OP_READ;
  }

  private void set(SocketChannel ch, int ops) {
    SelectionKey k = ch.keyFor(selector);
    if (k != null && k.isValid() && k.interestOps() != ops) {
      k.interestOps(ops);
    }
  }

  private void closeAll(Lane lane, boolean reset) {
    for (Conn c : new ArrayList<>(lane.open)) {
      close(c, reset);
    }
  }

  private void close(Conn c, boolean reset) {
    if (c.closed) {
      return;
    }
    c.closed = true;
    c.lane.open.remove(c);
    for (SocketChannel ch : List.of(c.client, c.server)) {
      try {
        if (reset && ch.isConnected()) {
          ch.setOption(StandardSocketOptions.SO_LINGER, 0);
        }
        ch.close();
      } catch (IOException ignored) {
        // closing
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    selector.wakeup();
    try {
      thread.join(5000);
      for (Lane lane : lanes) {
        closeAll(lane, false);
        lane.server.close();
      }
      selector.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
