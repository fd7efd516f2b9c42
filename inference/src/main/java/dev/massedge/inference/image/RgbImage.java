package dev.massedge.inference.image;

/**
 * A packed 8-bit RGB image: {@code pixels[(y * width + x) * 3 + c]}, c = 0 red, 1 green, 2 blue.
 * Camera frames arrive in this form (ffmpeg {@code -pix_fmt rgb24}); encoded images are decoded
 * into it by {@link ImageDecoder}.
 */
public record RgbImage(int width, int height, byte[] pixels) {
  public RgbImage {
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException("image size must be positive: " + width + "x" + height);
    }
    if (pixels.length != width * height * 3) {
      throw new IllegalArgumentException(
          "a " + width + "x" + height + " RGB image needs " + width * height * 3 + " bytes");
    }
  }
}
