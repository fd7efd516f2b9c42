package dev.massedge.drivers.audio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.massedge.drivers.Media;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AudioSourceTest {
  static int frames(AudioSource s) throws Exception {
    int n = 0;
    while (s.read() != null) {
      n++;
    }
    return n;
  }

  @Test
  void wavFramesWithTimestamps() throws Exception {
    try (WavFileSource s = new WavFileSource("mic", Media.file("silence3s.wav"), 16000, 512)) {
      AudioFrame first = s.read();
      AudioFrame second = s.read();
      assertThat(first.samples()).hasSize(512);
      assertThat(second.startSeconds()).isEqualTo(0.032);
      assertThat(2 + frames(s)).isEqualTo((int) Math.ceil(48000 / 512.0));
    }
  }

  @Test
  void stereo44kIsMixedAndResampled(@TempDir Path tmp) throws Exception {
    // both channels carry the original at full level, so their mix is the original
    Path st =
        Media.ffmpeg(
            tmp.resolve("st.wav"),
            "-i",
            Media.file("stop_16k.wav").toString(),
            "-filter_complex",
            "[0:a]asplit[l][r];[l][r]amerge=inputs=2",
            "-ar",
            "44100");
    float[] a = WavFileSource.load(st, 16000);
    float[] b = WavFileSource.load(Media.file("stop_16k.wav"), 16000);
    assertThat(Math.abs(a.length - b.length)).isLessThan(20);
    double ea = energy(a);
    double eb = energy(b);
    assertThat(ea / eb).isBetween(0.8, 1.2);
  }

  static double energy(float[] x) {
    double e = 0;
    for (float v : x) {
      e += v * v;
    }
    return e;
  }

  @Test
  void notSixteenBitPcmAndTruncatedFilesAreRefused(@TempDir Path tmp) throws Exception {
    Path f32 =
        Media.ffmpeg(
            tmp.resolve("f.wav"), "-i", Media.file("stop_16k.wav").toString(), "-c:a", "pcm_f32le");
    assertThatThrownBy(() -> new WavFileSource("m", f32, 16000, 512))
        .isInstanceOf(AudioFormatException.class)
        .hasMessageContaining("expected 16-bit PCM");
    byte[] all = Files.readAllBytes(Media.file("stop_16k.wav"));
    Path cut = Files.write(tmp.resolve("cut.wav"), Arrays.copyOf(all, all.length / 2));
    assertThatThrownBy(() -> new WavFileSource("m", cut, 16000, 512))
        .hasMessageContaining("truncated");
    Path png = Media.file("camera.png");
    assertThatThrownBy(() -> new WavFileSource("m", png, 16000, 512))
        .hasMessageContaining("not a WAV");
  }

  @Test
  void ffmpegSubprocessGivesTheSameAudio() throws Exception {
    float[] direct = WavFileSource.load(Media.file("stop_16k.wav"), 16000);
    try (ProcessAudioSource s =
        ProcessAudioSource.ffmpeg(
            "mic", Media.file("stop_16k.wav").toString(), List.of(), 16000, 1280)) {
      AudioFrame f = s.read();
      assertThat(f.samples()).hasSize(1280);
      for (int i = 0; i < 1280; i++) {
        assertThat(f.samples()[i])
            .isCloseTo(direct[i], org.assertj.core.api.Assertions.within(1e-4f));
      }
      assertThat(1 + frames(s)).isEqualTo((int) Math.ceil(direct.length / 1280.0));
    }
  }

  @Test
  void anUnknownCaptureDeviceNamesTheOnesThereAre() {
    assertThatThrownBy(() -> new JavaSoundSource("mic", "no-such-card", 16000, 512))
        .isInstanceOf(AudioFormatException.class)
        .hasMessageContaining("no-such-card")
        .hasMessageContaining("capture devices here");
  }
}
