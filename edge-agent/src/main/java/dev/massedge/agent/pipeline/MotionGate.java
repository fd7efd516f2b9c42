package dev.massedge.agent.pipeline;

import dev.massedge.drivers.camera.Frame;
import dev.massedge.drivers.camera.PixelFormat;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Motion by frame difference, the cheap first stage of Frigate and of most NVRs: the picture's
 * brightness in 8×8-pixel cells (sampled every other pixel) is compared with a running average of
 * the previous frames; motion is when at least {@code minArea} of the cells changed by more than
 * {@code threshold} levels. A change over nearly the whole picture (a light switched on, the
 * camera's exposure jumping) is not motion: the background is reset to the new picture and the
 * change is counted. Costs ~1/16 of a pass over the luma plane per frame, so frames without motion
 * skip the detector.
 */
public final class MotionGate implements Gate {
  static final int CELL = 8;

  /** More of the picture than this changing at once is a lighting change, not motion. */
  static final double LIGHTING = 0.9;

  private final int threshold;
  private final double minArea;
  private final float alpha;
  private final Gate.Remote state = new Gate.Remote(); // active or not, and who listens
  private final AtomicLong motionFrames = new AtomicLong();
  private final AtomicLong lightingChanges = new AtomicLong();
  private float[] background;
  private float[] cells;
  private volatile double changed;

  /**
   * @param threshold how many brightness levels (0–255) a cell must change by
   * @param minArea the fraction of cells that must change for motion (0–1)
   * @param alpha how fast the background follows the picture (per frame, 0–1)
   */
  public MotionGate(int threshold, double minArea, double alpha) {
    if (threshold < 1 || threshold > 255) {
      throw new IllegalArgumentException("motion threshold must be 1..255, got " + threshold);
    }
    if (!(minArea > 0 && minArea < LIGHTING)) {
      throw new IllegalArgumentException(
          "motion area must be a fraction of the picture above 0 and below "
              + LIGHTING
              + ", got "
              + minArea);
    }
    if (!(alpha > 0 && alpha <= 1)) {
      throw new IllegalArgumentException("motion alpha must be in (0, 1], got " + alpha);
    }
    this.threshold = threshold;
    this.minArea = minArea;
    this.alpha = (float) alpha;
  }

  /** Compares a frame with the background and updates both (on the pipeline's thread). */
  @Override
  public void onFrame(Frame f) {
    int cw = (f.width() + CELL - 1) / CELL;
    int ch = (f.height() + CELL - 1) / CELL;
    if (cells == null || cells.length != cw * ch) {
      cells = new float[cw * ch];
      background = null;
    }
    brightness(f, cw, ch, cells);
    if (background == null) {
      background = cells.clone();
      return;
    }
    int n = 0;
    for (int i = 0; i < cells.length; i++) {
      float d = cells[i] - background[i];
      if (d > threshold || d < -threshold) {
        n++;
      }
      background[i] += alpha * d;
    }
    double fraction = (double) n / cells.length;
    changed = fraction;
    boolean motion = fraction >= minArea;
    if (fraction >= LIGHTING) {
      lightingChanges.incrementAndGet();
      System.arraycopy(cells, 0, background, 0, cells.length);
      motion = false;
    }
    if (motion) {
      motionFrames.incrementAndGet();
    }
    if (motion != state.active()) {
      state.set(motion);
    }
  }

  /** Mean brightness per cell, from every other pixel of every other row. */
  static void brightness(Frame f, int cw, int ch, float[] out) {
    byte[] px = f.pixels();
    int w = f.width();
    int h = f.height();
    boolean rgb = f.format() == PixelFormat.RGB24;
    int full =
        w / CELL; // cells with all their columns; a last partial one is summed pixel by pixel
    int[] sum = new int[cw];
    for (int cy = 0; cy < ch; cy++) {
      java.util.Arrays.fill(sum, 0);
      int rows = 0;
      for (int y = cy * CELL; y < Math.min(h, (cy + 1) * CELL); y += 2, rows++) {
        int row = y * w;
        if (rgb) {
          for (int x = 0; x < w; x += 2) {
            int o = (row + x) * 3;
            // integer BT.601 luma
            sum[x / CELL] +=
                ((px[o] & 0xff) * 77 + (px[o + 1] & 0xff) * 150 + (px[o + 2] & 0xff) * 29) >> 8;
          }
        } else {
          // I420: the luma plane comes first
          for (int c = 0, o = row; c < full; c++, o += CELL) {
            sum[c] += (px[o] & 0xff) + (px[o + 2] & 0xff) + (px[o + 4] & 0xff) + (px[o + 6] & 0xff);
          }
          for (int x = full * CELL; x < w; x += 2) {
            sum[full] += px[row + x] & 0xff;
          }
        }
      }
      for (int c = 0; c < cw; c++) {
        int cols = (Math.min(w, (c + 1) * CELL) - c * CELL + 1) / 2;
        out[cy * cw + c] = (float) sum[c] / (rows * cols);
      }
    }
  }

  @Override
  public boolean active() {
    return state.active();
  }

  @Override
  public void onChange(Consumer<Boolean> listener) {
    state.onChange(listener);
  }

  /** The fraction of the picture that changed in the last frame. */
  public double changed() {
    return changed;
  }

  public long motionFrames() {
    return motionFrames.get();
  }

  public long lightingChanges() {
    return lightingChanges.get();
  }
}
