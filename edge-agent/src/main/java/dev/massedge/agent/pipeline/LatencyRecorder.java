package dev.massedge.agent.pipeline;

import java.util.Arrays;

/** The last 4096 latencies of something, for percentiles. Thread-safe. */
public final class LatencyRecorder {
  private final long[] nanos = new long[4096];
  private long count;

  public synchronized void record(long latencyNanos) {
    nanos[(int) (count++ % nanos.length)] = latencyNanos;
  }

  /** The p-th percentile (0-100) in milliseconds, NaN when nothing was recorded. */
  public synchronized double percentileMs(double p) {
    int n = (int) Math.min(count, nanos.length);
    if (n == 0) {
      return Double.NaN;
    }
    long[] s = Arrays.copyOf(nanos, n);
    Arrays.sort(s);
    int i = (int) Math.min(n - 1, Math.max(0, Math.ceil(p / 100.0 * n) - 1));
    return s[i] / 1e6;
  }

  public synchronized long count() {
    return count;
  }
}
