package dev.massedge.inference.image;

/**
 * A packed 8-bit RGB image: {@code pixels[(y * width + x) * 3 + c]}, c = 0 red, 1 green, 2 blue.
 * Encoded images are decoded into it by {@link ImageDecoder}; cameras deliver {@link Yuv420Image}.
 */
public record RgbImage(int width, int height, byte[] pixels) implements Image {
  public RgbImage {
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException("image size must be positive: " + width + "x" + height);
    }
    if (pixels.length != width * height * 3) {
      throw new IllegalArgumentException(
          "a " + width + "x" + height + " RGB image needs " + width * height * 3 + " bytes");
    }
  }

  @Override
  public RgbImage toRgb() {
    return this;
  }
}
