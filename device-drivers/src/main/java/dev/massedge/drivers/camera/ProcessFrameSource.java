package dev.massedge.drivers.camera;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.function.DoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A camera read from a subprocess that writes raw frames to its standard output (ffmpeg,
 * gst-launch) in a {@link PixelFormat}. When the process dies the source restarts it with
 * exponential backoff (0.25 s doubling to 10 s, reset after 5 s of frames); a seekable input
 * resumes where it stopped. A finite input that ends normally (exit 0) ends the source.
 */
public final class ProcessFrameSource implements FrameSource {
  private static final Logger log = LoggerFactory.getLogger(ProcessFrameSource.class);
  static final long MIN_BACKOFF_MS = 250;
  static final long MAX_BACKOFF_MS = 10_000;

  private final String name;
  private final DoubleFunction<List<String>> command;
  private final int width;
  private final int height;
  private final PixelFormat format;
  private final double fps;
  private final boolean endsWhenInputEnds;
  private final boolean consumerPaced;
  private final Object lock = new Object();

  /** Frame buffers handed back by the consumer or freed by a drop, reused for the next frames. */
  private final java.util.concurrent.ArrayBlockingQueue<byte[]> pool =
      new java.util.concurrent.ArrayBlockingQueue<>(4);

  private Frame latest;
  private boolean latestTaken = true;
  private long captured;
  private long taken;
  private long dropped;
  private int restarts;
  private String lastError = "";
  private volatile State state = State.STARTING;
  private volatile Process process;
  private Thread reader;

  /**
   * @param command the process to run, given the stream position (seconds) to resume from
   * @param endsWhenInputEnds a normal exit ends the source (files); otherwise it restarts (streams)
   */
  public ProcessFrameSource(
      String name,
      DoubleFunction<List<String>> command,
      int width,
      int height,
      PixelFormat format,
      double fps,
      boolean endsWhenInputEnds) {
    this(name, command, width, height, format, fps, endsWhenInputEnds, false);
  }

  /**
   * @param consumerPaced read the next frame only once the last one was taken: nothing is dropped
   *     and the process waits (for files analysed as fast as the pipeline goes, not for live
   *     cameras, whose frames must stay fresh)
   */
  public ProcessFrameSource(
      String name,
      DoubleFunction<List<String>> command,
      int width,
      int height,
      PixelFormat format,
      double fps,
      boolean endsWhenInputEnds,
      boolean consumerPaced) {
    if (width <= 0 || height <= 0 || fps <= 0) {
      throw new IllegalArgumentException(
          "camera '"
              + name
              + "': width, height and fps must be > 0, got "
              + width
              + "x"
              + height
              + "@"
              + fps);
    }
    this.name = name;
    this.command = command;
    this.width = width;
    this.height = height;
    this.format = format;
    this.fps = fps;
    this.endsWhenInputEnds = endsWhenInputEnds;
    this.consumerPaced = consumerPaced;
  }

  @Override
  public String name() {
    return name;
  }

  /** The running process (for operations and tests), or null between restarts. */
  public Process process() {
    return process;
  }

  @Override
  public synchronized void start() {
    if (reader != null) {
      return;
    }
    reader = new Thread(this::run, "camera-" + name);
    reader.setDaemon(true);
    reader.start();
  }

  private void run() {
    long backoff = MIN_BACKOFF_MS;
    double position = 0;
    long sequence = 0;
    int frameBytes = format.frameBytes(width, height);
    while (state != State.CLOSED) {
      List<String> cmd = command.apply(position);
      Deque<String> errors = new ArrayDeque<>();
      long runStart = System.nanoTime();
      long framesThisRun = 0;
      int exit;
      try {
        Process p = new ProcessBuilder(cmd).start();
        process = p;
        Thread err = drain(p.getErrorStream(), errors);
        try (InputStream in = p.getInputStream()) {
          while (state != State.CLOSED) {
            byte[] buf = pool.poll();
            if (buf == null) {
              buf = new byte[frameBytes];
            }
            if (in.readNBytes(buf, 0, frameBytes) < frameBytes) {
              pool.offer(buf);
              break; // end of stream (a partial frame is discarded)
            }
            if (state != State.RUNNING) {
              state = State.RUNNING;
            }
            double t = position + framesThisRun / fps;
            framesThisRun++;
            publish(new Frame(sequence++, t, System.nanoTime(), width, height, format, buf));
          }
        }
        exit = p.waitFor();
        err.join(1000);
      } catch (IOException e) {
        exit = -1;
        synchronized (errors) {
          errors.add(e.getMessage());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } finally {
        Process p = process;
        if (p != null) {
          p.destroyForcibly();
        }
        process = null;
      }
      position += framesThisRun / fps;
      if (state == State.CLOSED) {
        break;
      }
      if (exit == 0 && endsWhenInputEnds) {
        state = State.ENDED;
        synchronized (lock) {
          lock.notifyAll();
        }
        log.info("camera {}: input ended after {} s", name, String.format("%.1f", position));
        return;
      }
      String why;
      synchronized (errors) {
        why =
            errors.isEmpty()
                ? "exit code " + exit
                : errors.peekLast() + " (exit code " + exit + ")";
      }
      synchronized (lock) {
        restarts++;
        lastError = why;
      }
      if ((System.nanoTime() - runStart) / 1_000_000 > 5000 && framesThisRun > 0) {
        backoff = MIN_BACKOFF_MS;
      }
      state = State.RESTARTING;
      log.warn("camera {}: stream stopped ({}); restarting in {} ms", name, why, backoff);
      try {
        Thread.sleep(backoff);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    }
  }

  private static Thread drain(InputStream err, Deque<String> lines) {
    Thread t =
        new Thread(
            () -> {
              try (BufferedReader r = new BufferedReader(new InputStreamReader(err))) {
                String l;
                while ((l = r.readLine()) != null) {
                  synchronized (lines) {
                    if (!l.isBlank()) {
                      lines.add(l.trim());
                    }
                    if (lines.size() > 20) {
                      lines.removeFirst();
                    }
                  }
                }
              } catch (IOException ignored) {
                // the process is gone
              }
            },
            "camera-stderr");
    t.setDaemon(true);
    t.start();
    return t;
  }

  private void publish(Frame f) throws InterruptedException {
    synchronized (lock) {
      while (consumerPaced && !latestTaken && state != State.CLOSED) {
        lock.wait(100);
      }
      captured++;
      if (!latestTaken) {
        dropped++;
        pool.offer(latest.pixels());
      }
      latest = f;
      latestTaken = false;
      lock.notifyAll();
    }
  }

  @Override
  public Frame next(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (latestTaken) {
        if (state == State.ENDED || state == State.CLOSED) {
          return null;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return null;
        }
        lock.wait(Math.max(1, left / 1_000_000));
      }
      latestTaken = true;
      taken++;
      lock.notifyAll();
      return latest;
    }
  }

  @Override
  public void release(Frame frame) {
    if (frame != null && frame.pixels().length == format.frameBytes(width, height)) {
      pool.offer(frame.pixels());
    }
  }

  @Override
  public Stats stats() {
    synchronized (lock) {
      return new Stats(state, captured, taken, dropped, restarts, lastError);
    }
  }

  @Override
  public void close() {
    state = State.CLOSED;
    Process p = process;
    if (p != null) {
      p.destroyForcibly();
    }
    synchronized (lock) {
      lock.notifyAll();
    }
    Thread r = reader;
    if (r != null) {
      try {
        r.join(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
