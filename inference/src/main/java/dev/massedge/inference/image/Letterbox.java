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
    int[] x0s = new int[dstWidth];
    float[] fxs = new float[dstWidth];
    boolean[] inX = new boolean[dstWidth];
    for (int x = 0; x < dstWidth; x++) {
      float sx = (x + 0.5f - padX) / scaleX - 0.5f;
      inX[x] = sx > -1f && sx < sw;
      sx = Math.max(0f, Math.min(sx, sw - 1f));
      int x0 = Math.min((int) sx, sw - 2 < 0 ? 0 : sw - 2);
      x0s[x] = x0;
      fxs[x] = sw == 1 ? 0f : sx - x0;
    }
    for (int y = 0; y < dstHeight; y++) {
      float sy = (y + 0.5f - padY) / scaleY - 0.5f;
      boolean rowIn = sy > -1f && sy < sh;
      sy = Math.max(0f, Math.min(sy, sh - 1f));
      int y0 = Math.min((int) sy, sh - 2 < 0 ? 0 : sh - 2);
      float fy = sh == 1 ? 0f : sy - y0;
      int y1 = Math.min(y0 + 1, sh - 1);
      int row0 = y0 * sw * 3;
      int row1 = y1 * sw * 3;
      for (int x = 0; x < dstWidth; x++) {
        float r;
        float g;
        float b;
        if (rowIn && inX[x]) {
          int x0 = x0s[x] * 3;
          int x1 = Math.min(x0s[x] + 1, sw - 1) * 3;
          float fx = fxs[x];
          float w00 = (1 - fx) * (1 - fy);
          float w01 = fx * (1 - fy);
          float w10 = (1 - fx) * fy;
          float w11 = fx * fy;
          r = lerp(px, row0 + x0, row0 + x1, row1 + x0, row1 + x1, 0, w00, w01, w10, w11);
          g = lerp(px, row0 + x0, row0 + x1, row1 + x0, row1 + x1, 1, w00, w01, w10, w11);
          b = lerp(px, row0 + x0, row0 + x1, row1 + x0, row1 + x1, 2, w00, w01, w10, w11);
          r = r * scale + offset;
          g = g * scale + offset;
          b = b * scale + offset;
        } else {
          r = pad;
          g = pad;
          b = pad;
        }
        float first = c0 == 0 ? r : b;
        float last = c2 == 2 ? b : r;
        int i = y * dstWidth + x;
        if (nchw) {
          out.put(base + i, first);
          out.put(base + plane + i, g);
          out.put(base + 2 * plane + i, last);
        } else {
          int j = base + i * 3;
          out.put(j, first);
          out.put(j + 1, g);
          out.put(j + 2, last);
        }
      }
    }
    out.position(base + plane * 3);
  }

  private static float lerp(
      byte[] px, int a, int b, int c, int d, int ch, float wa, float wb, float wc, float wd) {
    return (px[a + ch] & 0xff) * wa
        + (px[b + ch] & 0xff) * wb
        + (px[c + ch] & 0xff) * wc
        + (px[d + ch] & 0xff) * wd;
  }
}
