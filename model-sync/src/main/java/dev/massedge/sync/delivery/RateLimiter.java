package dev.massedge.sync.delivery;

/**
 * A token bucket in bytes per second, so one device's delivery never takes more of a poor link than
 * it is allowed. {@code bytesPerSecond <= 0} means unlimited. The bucket holds one second's worth.
 */
public final class RateLimiter {
  private final double rate;
  private double tokens;
  private long last = System.nanoTime();

  public RateLimiter(long bytesPerSecond) {
    this.rate = bytesPerSecond;
    this.tokens = bytesPerSecond;
  }

  /** The limit, 0 when there is none. */
  public long bytesPerSecond() {
    return (long) rate;
  }

  public static RateLimiter unlimited() {
    return new RateLimiter(0);
  }

  /** Waits until {@code bytes} may be sent. */
  public void acquire(long bytes) throws InterruptedException {
    if (rate <= 0) {
      return;
    }
    long waitNanos;
    synchronized (this) {
      long now = System.nanoTime();
      tokens = Math.min(rate, tokens + (now - last) / 1e9 * rate);
      last = now;
      tokens -= bytes;
      waitNanos = tokens >= 0 ? 0 : (long) (-tokens / rate * 1e9);
    }
    if (waitNanos > 0) {
      Thread.sleep(waitNanos / 1_000_000, (int) (waitNanos % 1_000_000));
    }
  }
}
