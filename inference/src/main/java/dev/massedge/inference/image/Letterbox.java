package dev.massedge.inference.image;

import java.nio.FloatBuffer;

/**
 * Fits a source image into a model's input square (or rectangle), keeping the aspect ratio and
 * padding the rest ("letterbox"), or stretching it to fill ("stretch"), and maps model coordinates
 * back to source pixels.
 *
 * @param scaleX source → input scale along x
 * @param scaleY source → input scale along y
 * @param padX input pixels of padding on the left
 * @param padY input pixels of padding on the top
 */
public record Letterbox(
    int srcWidth,
    int srcHeight,
    int dstWidth,
    int dstHeight,
    float scaleX,
    float scaleY,
    float padX,
    float padY) {

  public static Letterbox fit(int srcW, int srcH, int dstW, int dstH, boolean keepAspect) {
    if (!keepAspect) {
      return new Letterbox(srcW, srcH, dstW, dstH, (float) dstW / srcW, (float) dstH / srcH, 0, 0);
    }
    float s = Math.min((float) dstW / srcW, (float) dstH / srcH);
    return new Letterbox(
        srcW, srcH, dstW, dstH, s, s, (dstW - srcW * s) / 2f, (dstH - srcH * s) / 2f);
  }

  /** Input-pixel x → source-pixel x. */
  public float toSourceX(float x) {
    return (x - padX) / scaleX;
  }

  /** Input-pixel y → source-pixel y. */
  public float toSourceY(float y) {
    return (y - padY) / scaleY;
  }

  /**
   * Writes the image into {@code out} (from its current position) as normalised floats: {@code v *
   * scale + offset}, bilinear sampling, padding with the value of black. NHWC interleaves channels
   * per pixel; NCHW writes one plane per channel. {@code bgr} swaps red and blue. A {@link
   * Yuv420Image} is converted only at the sampled points: luma bilinear, chroma from the sample
   * that covers the point.
   */
  public void write(
      Image img, FloatBuffer out, boolean nchw, boolean bgr, float scale, float offset) {
    final int sw = img.width();
    final int sh = img.height();
    final int base = out.position();
    final int plane = dstWidth * dstHeight;
    final int c0 = bgr ? 2 : 0;
    final int c2 = bgr ? 0 : 2;
    // Horizontal sample positions and weights, once per call (one row's worth).
    int[] xa = new int[dstWidth]; // the left sample's column
    int[] xb = new int[dstWidth]; // the right sample's column
    int[] xc = new int[dstWidth];
    float[] fxs = new float[dstWidth];
    boolean[] inX = new boolean[dstWidth];
    for (int x = 0; x < dstWidth; x++) {
      float sx = (x + 0.5f - padX) / scaleX - 0.5f;
      inX[x] = sx > -1f && sx < sw;
      sx = Math.max(0f, Math.min(sx, sw - 1f));
      int x0 = Math.min((int) sx, sw - 2 < 0 ? 0 : sw - 2);
      xa[x] = x0;
      xb[x] = Math.min(x0 + 1, sw - 1);
      fxs[x] = sw == 1 ? 0f : sx - x0;
      // YUV 4:2:0: the chroma column of the luma sample nearer the point
      xc[x] = (fxs[x] < 0.5f ? xa[x] : xb[x]) >> 1;
    }
    // One row at a time into a float[] (bulk-copied to the buffer): far cheaper than per-element
    // puts into a direct buffer.
    float[] row = new float[dstWidth * 3];
    float[] planeRow = nchw ? new float[dstWidth] : null;
    float[] levels = null; // YUV only: colour values → normalised, clamped floats
    for (int y = 0; y < dstHeight; y++) {
      float sy = (y + 0.5f - padY) / scaleY - 0.5f;
      boolean rowIn = sy > -1f && sy < sh;
      sy = Math.max(0f, Math.min(sy, sh - 1f));
      int y0 = Math.min((int) sy, sh - 2 < 0 ? 0 : sh - 2);
      float fy = sh == 1 ? 0f : sy - y0;
      int y1 = Math.min(y0 + 1, sh - 1);
      if (!rowIn) {
        java.util.Arrays.fill(row, offset);
      } else if (img instanceof Yuv420Image yuv) {
        if (levels == null) {
          levels = levels(scale, offset);
        }
        yuvRow(
            yuv,
            y0,
            y1,
            fy,
            Math.min((int) (sy + 0.5f), sh - 1),
            xa,
            xb,
            xc,
            fxs,
            inX,
            row,
            c0,
            c2,
            levels,
            offset);
      } else {
        rgbRow((RgbImage) img, y0, y1, fy, xa, xb, fxs, inX, row, c0, c2, scale, offset);
      }
      if (nchw) {
        for (int ch = 0; ch < 3; ch++) {
          for (int x = 0; x < dstWidth; x++) {
            planeRow[x] = row[x * 3 + ch];
          }
          out.put(base + ch * plane + y * dstWidth, planeRow);
        }
      } else {
        out.put(base + y * dstWidth * 3, row);
      }
    }
    out.position(base + plane * 3);
  }

  private void rgbRow(
      RgbImage img,
      int y0,
      int y1,
      float fy,
      int[] xa,
      int[] xb,
      float[] fxs,
      boolean[] inX,
      float[] row,
      int c0,
      int c2,
      float scale,
      float offset) {
    final byte[] px = img.pixels();
    final int row0 = y0 * img.width() * 3;
    final int row1 = y1 * img.width() * 3;
    for (int x = 0, j = 0; x < dstWidth; x++, j += 3) {
      if (!inX[x]) {
        row[j] = offset;
        row[j + 1] = offset;
        row[j + 2] = offset;
        continue;
      }
      int a = row0 + xa[x] * 3;
      int b = row0 + xb[x] * 3;
      int c = row1 + xa[x] * 3;
      int d = row1 + xb[x] * 3;
      float fx = fxs[x];
      float w00 = (1 - fx) * (1 - fy) * scale;
      float w01 = fx * (1 - fy) * scale;
      float w10 = (1 - fx) * fy * scale;
      float w11 = fx * fy * scale;
      float r =
          (px[a] & 0xff) * w00
              + (px[b] & 0xff) * w01
              + (px[c] & 0xff) * w10
              + (px[d] & 0xff) * w11
              + offset;
      float g =
          (px[a + 1] & 0xff) * w00
              + (px[b + 1] & 0xff) * w01
              + (px[c + 1] & 0xff) * w10
              + (px[d + 1] & 0xff) * w11
              + offset;
      float bl =
          (px[a + 2] & 0xff) * w00
              + (px[b + 2] & 0xff) * w01
              + (px[c + 2] & 0xff) * w10
              + (px[d + 2] & 0xff) * w11
              + offset;
      row[j + c0] = r;
      row[j + 1] = g;
      row[j + c2] = bl;
    }
  }

  /** Offset added to a colour value before it indexes {@link #levels}. */
  private static final int LEVEL0 = 512;

  /**
   * Normalised values of the colour levels -512..587 (clamped to 0..255 first): converting YUV
   * gives values out of range, and a table lookup clamps, rounds and normalises without branches (a
   * compare-and-clamp per channel cost a third of the sampling).
   */
  private static float[] levels(float scale, float offset) {
    float[] t = new float[LEVEL0 + 588];
    for (int i = 0; i < t.length; i++) {
      t[i] = Math.max(0, Math.min(255, i - LEVEL0)) * scale + offset;
    }
    return t;
  }

  /** {@code yNear}: the source row nearest the sample point, whose chroma row is used. */
  private void yuvRow(
      Yuv420Image img,
      int y0,
      int y1,
      float fy,
      int yNear,
      int[] xa,
      int[] xb,
      int[] xc,
      float[] fxs,
      boolean[] inX,
      float[] row,
      int c0,
      int c2,
      float[] levels,
      float offset) {
    final byte[] px = img.pixels();
    final int sw = img.width();
    final int cw = (sw + 1) / 2;
    final int row0 = y0 * sw;
    final int row1 = y1 * sw;
    final int uRow = sw * img.height() + (yNear >> 1) * cw;
    final int vRow = uRow + cw * ((img.height() + 1) / 2);
    // + 0.5 rounds: the sums below stay within -280..535 for any byte values
    final float bias = LEVEL0 + 0.5f;
    for (int x = 0, j = 0; x < dstWidth; x++, j += 3) {
      if (!inX[x]) {
        row[j] = offset;
        row[j + 1] = offset;
        row[j + 2] = offset;
        continue;
      }
      float fx = fxs[x];
      int a = xa[x];
      int b = xb[x];
      float p = px[row0 + a] & 0xff;
      float top = p + ((px[row0 + b] & 0xff) - p) * fx;
      float q = px[row1 + a] & 0xff;
      float bottom = q + ((px[row1 + b] & 0xff) - q) * fx;
      float l = (top + (bottom - top) * fy - 16) * Yuv420Image.Y_GAIN + bias;
      int cx = xc[x]; // the chroma sample covering the luma sample nearest the point
      float u = (px[uRow + cx] & 0xff) - 128;
      float v = (px[vRow + cx] & 0xff) - 128;
      row[j + c0] = levels[(int) (l + Yuv420Image.V_TO_R * v)];
      row[j + 1] = levels[(int) (l - Yuv420Image.U_TO_G * u - Yuv420Image.V_TO_G * v)];
      row[j + c2] = levels[(int) (l + Yuv420Image.U_TO_B * u)];
    }
  }
}
