package dev.massedge.inference.audio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.massedge.inference.InferenceException;
import dev.massedge.inference.TestAssets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WavDecoderTest {
  @Test
  void sixteenKhzMonoPcm() {
    PcmAudio a = WavDecoder.decode(TestAssets.mediaBytes("silence3s.wav"));
    assertThat(a.sampleRate()).isEqualTo(16000);
    assertThat(a.durationMs()).isCloseTo(3000, within(1.0));
  }

  @Test
  void stereo44kIsMixedDownAndResampled(@TempDir Path tmp) throws Exception {
    Path f =
        TestAssets.ffmpeg(
            tmp.resolve("st.wav"),
            "-i",
            TestAssets.media("stop_16k.wav").toString(),
            "-ac",
            "2",
            "-ar",
            "44100",
            "-c:a",
            "pcm_s24le");
    PcmAudio a = WavDecoder.decode(Files.readAllBytes(f));
    assertThat(a.sampleRate()).isEqualTo(44100);
    PcmAudio original = WavDecoder.decode(TestAssets.mediaBytes("stop_16k.wav"));
    assertThat(a.resample(16000).durationMs()).isCloseTo(original.durationMs(), within(5.0));
  }

  @Test
  void muLawIsRefusedWithWhatIsAccepted(@TempDir Path tmp) throws Exception {
    Path f =
        TestAssets.ffmpeg(
            tmp.resolve("ulaw.wav"),
            "-i",
            TestAssets.media("stop_16k.wav").toString(),
            "-c:a",
            "pcm_mulaw");
    assertThatThrownBy(() -> WavDecoder.decode(Files.readAllBytes(f)))
        .hasMessageContaining("mu-law")
        .hasMessageContaining("expected PCM")
        .extracting(e -> ((InferenceException) e).code())
        .isEqualTo("wav_not_pcm");
  }

  @Test
  void notAWavAndEmpty() {
    assertThatThrownBy(() -> WavDecoder.decode(TestAssets.mediaBytes("astronaut.png")))
        .extracting(e -> ((InferenceException) e).code())
        .isEqualTo("not_a_wav");
    assertThatThrownBy(() -> WavDecoder.decode(new byte[0]))
        .extracting(e -> ((InferenceException) e).code())
        .isEqualTo("empty_body");
  }
}
