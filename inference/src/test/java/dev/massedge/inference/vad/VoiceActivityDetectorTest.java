package dev.massedge.inference.vad;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.Engines;
import dev.massedge.inference.TestAssets;
import dev.massedge.inference.audio.PcmAudio;
import dev.massedge.inference.audio.WavDecoder;
import dev.massedge.inference.model.LoadedModel;
import dev.massedge.inference.model.ModelRepository;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class VoiceActivityDetectorTest {
  // Sentence boundaries of vad_test_16k.wav, read off its waveform (10 ms windows, |x| > 300).
  static final double[][] SENTENCES = {{1010, 4050}, {4490, 6530}};
  static ModelRepository repo;
  static VoiceActivityDetector vad;

  @BeforeAll
  static void load() {
    repo = new ModelRepository(new Engines(), EngineOptions.cpu(1));
    LoadedModel m = repo.load(TestAssets.model("vad-silero"));
    assertThat(m.ready()).as("%s", m.failure()).isTrue();
    vad = m.vad();
  }

  @AfterAll
  static void close() {
    repo.close();
  }

  static PcmAudio wav(String f) {
    return WavDecoder.decode(TestAssets.mediaBytes(f));
  }

  @Test
  void twoSentencesGiveTwoSegmentsAtTheirBoundaries() {
    assertSentences(vad.segments(wav("vad_test_16k.wav")), 100.0);
  }

  @Test
  void twoSentencesInBrownNoiseStillGiveTwoSegments() {
    // noise blurs the trailing edge: the end of a sentence is found up to ~160 ms late here
    assertSentences(vad.segments(wav("vad_test_brownnoise_16k.wav")), 200.0);
  }

  static void assertSentences(List<SpeechSegment> segs, double toleranceMs) {
    assertThat(segs).hasSize(2);
    for (int i = 0; i < 2; i++) {
      assertThat(segs.get(i).startMs()).isCloseTo(SENTENCES[i][0], within(toleranceMs));
      assertThat(segs.get(i).endMs()).isCloseTo(SENTENCES[i][1], within(toleranceMs));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"silence3s.wav", "pinknoise3s.wav"})
  void noSpeechInSilenceOrNoise(String file) {
    assertThat(vad.segments(wav(file))).isEmpty();
  }

  @Test
  void streamingInOddSizedChunksGivesTheSameSegmentsAsOneCall() {
    PcmAudio a = wav("vad_test_16k.wav");
    VoiceActivityDetector.Stream s = vad.newStream();
    List<SpeechSegment> streamed = new ArrayList<>();
    for (int i = 0; i < a.samples().length; i += 333) {
      streamed.addAll(s.accept(a.samples(), i, Math.min(333, a.samples().length - i)));
    }
    streamed.addAll(s.finish());
    assertThat(streamed).isEqualTo(vad.segments(a));
  }

  @Test
  void realReadSpeechIsMostlySpeech() {
    PcmAudio a = wav("librivox_0870_16k.wav");
    double speech = vad.segments(a).stream().mapToDouble(SpeechSegment::durationMs).sum();
    assertThat(speech / a.durationMs()).isGreaterThan(0.6);
  }
}
