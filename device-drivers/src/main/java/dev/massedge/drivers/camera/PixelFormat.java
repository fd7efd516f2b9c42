package dev.massedge.drivers.camera;

/** How a camera process lays out a frame's pixels on its standard output. */
public enum PixelFormat {
  /** Packed 8-bit RGB, {@code rgb[(y * width + x) * 3 + c]} (ffmpeg {@code rgb24}). */
  RGB24("rgb24", "RGB"),
  /**
   * Planar YUV 4:2:0: the Y plane, then U and V at half resolution (ffmpeg {@code yuv420p},
   * GStreamer {@code I420}). What decoders produce, and half the bytes of RGB: cameras use it.
   */
  I420("yuv420p", "I420");

  private final String ffmpeg;
  private final String gstreamer;

  PixelFormat(String ffmpeg, String gstreamer) {
    this.ffmpeg = ffmpeg;
    this.gstreamer = gstreamer;
  }

  /** The name for ffmpeg's {@code -pix_fmt}. */
  public String ffmpegName() {
    return ffmpeg;
  }

  /** The name in a GStreamer {@code video/x-raw,format=} caps string. */
  public String gstreamerName() {
    return gstreamer;
  }

  /** The bytes of one width×height frame. */
  public int frameBytes(int width, int height) {
    return switch (this) {
      case RGB24 -> width * height * 3;
      case I420 -> width * height + 2 * ((width + 1) / 2) * ((height + 1) / 2);
    };
  }
}
