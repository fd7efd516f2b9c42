package dev.massedge.inference.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.massedge.inference.InferenceException;
import dev.massedge.inference.TestAssets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageDecoderTest {
  @Test
  void jpegWithAnIccProfileDecodesWithoutIt(@TempDir Path tmp) throws Exception {
    // ffmpeg carries astronaut.png's ICC profile into the JPEG as an APP2 segment
    byte[] jpg =
        Files.readAllBytes(
            TestAssets.ffmpeg(
                tmp.resolve("a.jpg"), "-i", TestAssets.media("astronaut.png").toString()));
    byte[] stripped = ImageDecoder.withoutIccProfile(jpg);
    assertThat(stripped.length).isLessThan(jpg.length - 1000);
    assertThat(new String(stripped, java.nio.charset.StandardCharsets.ISO_8859_1))
        .doesNotContain("ICC_PROFILE");
    RgbImage img = ImageDecoder.decode(jpg);
    assertThat(img.width()).isEqualTo(512);
    // the stored values survive: the image is still a bright-faced astronaut, not garbage
    RgbImage png = ImageDecoder.decode(TestAssets.mediaBytes("astronaut.png"));
    double diff = 0;
    for (int i = 0; i < img.pixels().length; i++) {
      diff += Math.abs((img.pixels()[i] & 0xff) - (png.pixels()[i] & 0xff));
    }
    assertThat(diff / img.pixels().length).isLessThan(12.0);
  }

  @Test
  void bytesThatAreNotAJpegHeaderPassThroughUntouched() {
    byte[] png = TestAssets.mediaBytes("camera.png");
    assertThat(ImageDecoder.withoutIccProfile(png)).isSameAs(png);
    byte[] broken = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE2, 0x7F, 0x7F};
    assertThat(ImageDecoder.withoutIccProfile(broken)).isSameAs(broken);
  }

  @Test
  void truncatedJpegAndGreyPng(@TempDir Path tmp) throws Exception {
    byte[] jpg =
        Files.readAllBytes(
            TestAssets.ffmpeg(
                tmp.resolve("c.jpg"), "-i", TestAssets.media("camera.png").toString()));
    assertThatThrownBy(() -> ImageDecoder.decode(Arrays.copyOf(jpg, 300)))
        .isInstanceOf(InferenceException.class)
        .extracting(e -> ((InferenceException) e).code())
        .isIn("image_corrupt", "not_an_image");
    RgbImage grey = ImageDecoder.decode(TestAssets.mediaBytes("camera.png"));
    byte[] p = grey.pixels();
    assertThat(p[3000]).isEqualTo(p[3001]).isEqualTo(p[3002]);
  }
}
