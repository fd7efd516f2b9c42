package dev.massedge.inference.image;

/**
 * A planar YUV 4:2:0 picture (I420, ffmpeg's {@code yuv420p}): the luma plane ({@code width ×
 * height} bytes), then the U and the V plane at half resolution ({@code ceil(width/2) ×
 * ceil(height/2)} each). This is what video decoders produce, so cameras deliver it as it comes:
 * half the bytes of RGB, and no conversion of pixels a model never looks at. Colours are read as
 * BT.601 limited range (swscale's default for {@code yuv420p}).
 */
public record Yuv420Image(int width, int height, byte[] pixels) implements Image {
  // BT.601, limited range (Y 16..235, U/V 16..240)
  static final float Y_GAIN = 255f / 219f;
  static final float V_TO_R = 1.596027f;
  static final float U_TO_G = 0.391762f;
  static final float V_TO_G = 0.812968f;
  static final float U_TO_B = 2.017232f;

  public Yuv420Image {
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException("image size must be positive: " + width + "x" + height);
    }
    if (pixels.length != bytes(width, height)) {
      throw new IllegalArgumentException(
          "a "
              + width
              + "x"
              + height
              + " YUV 4:2:0 image needs "
              + bytes(width, height)
              + " bytes");
    }
  }

  /** The size of a width×height I420 picture. */
  public static int bytes(int width, int height) {
    return width * height + 2 * ((width + 1) / 2) * ((height + 1) / 2);
  }

  /** Converts every pixel (each chroma sample covers its 2×2 block): for snapshots and tools. */
  @Override
  public RgbImage toRgb() {
    int cw = (width + 1) / 2;
    int uBase = width * height;
    int vBase = uBase + cw * ((height + 1) / 2);
    byte[] rgb = new byte[width * height * 3];
    for (int y = 0, o = 0; y < height; y++) {
      int crow = (y >> 1) * cw;
      for (int x = 0; x < width; x++, o += 3) {
        float l = ((pixels[y * width + x] & 0xff) - 16) * Y_GAIN;
        float u = (pixels[uBase + crow + (x >> 1)] & 0xff) - 128;
        float v = (pixels[vBase + crow + (x >> 1)] & 0xff) - 128;
        rgb[o] = clampByte(l + V_TO_R * v);
        rgb[o + 1] = clampByte(l - U_TO_G * u - V_TO_G * v);
        rgb[o + 2] = clampByte(l + U_TO_B * u);
      }
    }
    return new RgbImage(width, height, rgb);
  }

  private static byte clampByte(float f) {
    int i = Math.round(f);
    return (byte) (i < 0 ? 0 : Math.min(i, 255));
  }
}
