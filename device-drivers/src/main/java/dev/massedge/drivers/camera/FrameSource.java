package dev.massedge.drivers.camera;

import java.time.Duration;

/**
 * A camera: frames at a fixed size and rate. Latest frame wins: a consumer slower than the camera
 * gets the newest frame and the ones it did not take are counted as dropped, never queued.
 */
public interface FrameSource extends AutoCloseable {
  /** Starts capturing (idempotent). */
  void start();

  /**
   * The newest frame not yet taken, waiting up to {@code timeout} for one; null when none came, or
   * when the source has ended (see {@link #stats()}).
   */
  Frame next(Duration timeout) throws InterruptedException;

  /**
   * Hands a frame's pixels back for reuse once the consumer is done with them (optional: frames not
   * released are garbage collected). The frame must not be used after.
   */
  default void release(Frame frame) {}

  Stats stats();

  String name();

  @Override
  void close();

  enum State {
    STARTING,
    RUNNING,
    RESTARTING,
    ENDED,
    CLOSED
  }

  /**
   * Counters and state. {@code captured = taken + dropped (+ 1 waiting)}.
   *
   * @param lastError the reason of the last restart (the process's last error line), or ""
   */
  record Stats(
      State state, long captured, long taken, long dropped, int restarts, String lastError) {}
}
