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
   * per pixel; NCHW writes one plane per channel. {@code bgr} swaps red and blue.
   */
  public void write(
      RgbImage img, FloatBuffer out, boolean nchw, boolean bgr, float scale, float offset) {
    final int sw = img.width();
    final int sh = img.height();
    final byte[] px = img.pixels();
    final int base = out.position();
    final int plane = dstWidth * dstHeight;
    final float pad = offset;
    final int c0 = bgr ? 2 : 0;
    final int c2 = bgr ? 0 : 2;
    // Pre-compute horizontal sample positions and weights once per call (one row's worth).
    int[] xa = new int[dstWidth]; // byte offset of the left sample
    int[] xb = new int[dstWidth]; // byte offset of the right sample
    float[] fxs = new float[dstWidth];
    boolean[] inX = new boolean[dstWidth];
    for (int x = 0; x < dstWidth; x++) {
      float sx = (x + 0.5f - padX) / scaleX - 0.5f;
      inX[x] = sx > -1f && sx < sw;
      sx = Math.max(0f, Math.min(sx, sw - 1f));
      int x0 = Math.min((int) sx, sw - 2 < 0 ? 0 : sw - 2);
      xa[x] = x0 * 3;
      xb[x] = Math.min(x0 + 1, sw - 1) * 3;
      fxs[x] = sw == 1 ? 0f : sx - x0;
    }
    // One row at a time into a float[] (bulk-copied to the buffer): far cheaper than per-element
    // puts into a direct buffer.
    float[] row = new float[dstWidth * 3];
    float[] planeRow = nchw ? new float[dstWidth] : null;
    for (int y = 0; y < dstHeight; y++) {
      float sy = (y + 0.5f - padY) / scaleY - 0.5f;
      boolean rowIn = sy > -1f && sy < sh;
      sy = Math.max(0f, Math.min(sy, sh - 1f));
      int y0 = Math.min((int) sy, sh - 2 < 0 ? 0 : sh - 2);
      float fy = sh == 1 ? 0f : sy - y0;
      int y1 = Math.min(y0 + 1, sh - 1);
      int row0 = y0 * sw * 3;
      int row1 = y1 * sw * 3;
      for (int x = 0, j = 0; x < dstWidth; x++, j += 3) {
        if (!rowIn || !inX[x]) {
          row[j] = pad;
          row[j + 1] = pad;
          row[j + 2] = pad;
          continue;
        }
        int a = row0 + xa[x];
        int b = row0 + xb[x];
        int c = row1 + xa[x];
        int d = row1 + xb[x];
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
}
