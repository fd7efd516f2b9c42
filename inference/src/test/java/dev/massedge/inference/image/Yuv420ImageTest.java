package dev.massedge.inference.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.massedge.inference.TestAssets;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** I420 frames against ffmpeg's own conversion of the same frames to RGB. */
class Yuv420ImageTest {
  static final int W = 640;
  static final int H = 480;

  /** The astronaut in a 640x480 frame as ffmpeg's yuv420p (a camera's frame). */
  static Yuv420Image frame(Path tmp) throws Exception {
    Path raw =
        TestAssets.ffmpeg(
            tmp.resolve("frame.yuv"),
            "-i",
            TestAssets.media("astronaut.png").toString(),
            "-vf",
            "scale=480:480,pad=640:480:80:0",
            "-pix_fmt",
            "yuv420p",
            "-f",
            "rawvideo");
    return new Yuv420Image(W, H, Files.readAllBytes(raw));
  }

  /** ffmpeg's rgb24 of that frame. */
  static RgbImage ffmpegRgb(Path tmp) throws Exception {
    Path rgb =
        TestAssets.ffmpeg(
            tmp.resolve("frame.rgb"),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-s",
            W + "x" + H,
            "-i",
            tmp.resolve("frame.yuv").toString(),
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo");
    return new RgbImage(W, H, Files.readAllBytes(rgb));
  }

  @Test
  void convertsToTheRgbFfmpegMakesOfTheSameFrame(@TempDir Path tmp) throws Exception {
    Yuv420Image yuv = frame(tmp);
    RgbImage ours = yuv.toRgb();
    RgbImage theirs = ffmpegRgb(tmp);
    double[] diff = new double[3];
    byte[] a = ours.pixels();
    byte[] b = theirs.pixels();
    for (int i = 0; i < a.length; i++) {
      diff[i % 3] += Math.abs((a[i] & 0xff) - (b[i] & 0xff));
    }
    for (int c = 0; c < 3; c++) {
      assertThat(diff[c] / (W * H)).as("mean difference, channel %d", c).isLessThan(2.0);
    }
  }

  @Test
  void letterboxesLikeTheRgbOfTheSameFrame(@TempDir Path tmp) throws Exception {
    Yuv420Image yuv = frame(tmp);
    RgbImage rgb = ffmpegRgb(tmp);
    Letterbox lb = Letterbox.fit(W, H, 128, 128, true);
    for (boolean nchw : new boolean[] {false, true}) {
      FloatBuffer a = buffer();
      FloatBuffer b = buffer();
      lb.write(yuv, a, nchw, true, 1f, -7f);
      lb.write(rgb, b, nchw, true, 1f, -7f);
      assertThat(a.position()).isEqualTo(128 * 128 * 3);
      double sum = 0;
      for (int i = 0; i < 128 * 128 * 3; i++) {
        sum += Math.abs(a.get(i) - b.get(i));
        // 640x480 into 128x128: 16 rows of padding (black: offset) above and below
        int y = nchw ? (i % (128 * 128)) / 128 : i / (128 * 3);
        if (y < 16 || y >= 112) {
          assertThat(a.get(i)).as("padding at row %d", y).isEqualTo(-7f);
        }
      }
      // chroma is taken from the nearest sample rather than interpolated: a small difference
      assertThat(sum / (128 * 128 * 3)).as("mean difference, nchw=%s", nchw).isLessThan(3.0);
    }
  }

  @Test
  void oddSizesHaveRoundedUpChromaPlanesAndWrongSizesAreRefused() {
    assertThat(Yuv420Image.bytes(5, 3)).isEqualTo(15 + 2 * 3 * 2);
    byte[] grey = new byte[Yuv420Image.bytes(5, 3)];
    java.util.Arrays.fill(grey, (byte) 128);
    RgbImage rgb = new Yuv420Image(5, 3, grey).toRgb();
    // mid grey: Y 128 with neutral chroma is (128 - 16) * 255 / 219 = 130 in every channel
    for (byte v : rgb.pixels()) {
      assertThat(v & 0xff).isEqualTo(130);
    }
    assertThatThrownBy(() -> new Yuv420Image(4, 4, new byte[4 * 4 * 3]))
        .hasMessageContaining("needs 24 bytes");
  }

  private static FloatBuffer buffer() {
    return ByteBuffer.allocateDirect(128 * 128 * 3 * 4)
        .order(ByteOrder.nativeOrder())
        .asFloatBuffer();
  }
}
