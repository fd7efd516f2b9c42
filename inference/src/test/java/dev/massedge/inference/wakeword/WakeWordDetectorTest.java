package dev.massedge.inference.wakeword;

import static org.assertj.core.api.Assertions.assertThat;

import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.ModelSession;
import dev.massedge.inference.TestAssets;
import dev.massedge.inference.audio.PcmAudio;
import dev.massedge.inference.audio.WavDecoder;
import dev.massedge.inference.onnx.OnnxEngine;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** hey_jarvis (openWakeWord-format, test use only: CC BY-NC-SA upstream) on espeak recordings. */
class WakeWordDetectorTest {
  static final List<ModelSession> sessions = new ArrayList<>();
  static WakeWordDetector detector;

  static ModelSession open(String file) {
    Path dir = TestAssets.models().resolve("demo-only/openwakeword");
    ModelSession s = new OnnxEngine().open(dir.resolve(file), EngineOptions.cpu(1));
    sessions.add(s);
    return s;
  }

  @BeforeAll
  static void load() {
    detector =
        new WakeWordDetector(
            open("melspectrogram.onnx"),
            open("embedding_model.onnx"),
            Map.of("hey_jarvis", open("hey_jarvis_v0.1.onnx")),
            WakeWordDetector.DEFAULT_THRESHOLD,
            2.0);
  }

  @AfterAll
  static void close() {
    sessions.forEach(ModelSession::close);
  }

  /** End of the spoken word: the last 10 ms window louder than the noise floor. */
  static double wordEnd(PcmAudio a) {
    float[] s = a.samples();
    double end = 0;
    for (int i = 0; i + 160 <= s.length; i += 160) {
      float max = 0;
      for (int j = i; j < i + 160; j++) {
        max = Math.max(max, Math.abs(s[j]));
      }
      if (max > 0.05) {
        end = (i + 160) / 16000.0;
      }
    }
    return end;
  }

  static List<WakeWordDetector.Detection> run(String file) {
    PcmAudio a = WavDecoder.decode(TestAssets.mediaBytes(file)).resample(16000);
    return detector.newStream().accept(a.samples(), 0, a.samples().length);
  }

  @ParameterizedTest
  @ValueSource(strings = {"hey_jarvis_16k.wav", "hey_jarvis_pinknoise_16k.wav"})
  void heyJarvisWakesOnceRightAfterTheWord(String file) {
    PcmAudio a = WavDecoder.decode(TestAssets.mediaBytes("hey_jarvis_16k.wav"));
    double end = wordEnd(a);
    List<WakeWordDetector.Detection> d = run(file);
    assertThat(d).hasSize(1);
    assertThat(d.get(0).wakeWord()).isEqualTo("hey_jarvis");
    assertThat(d.get(0).seconds() - end)
        .as("detected at %.2f s, word ends at %.2f s", d.get(0).seconds(), end)
        .isBetween(-0.2, 0.3);
  }

  @org.junit.jupiter.api.Test
  void anInt8EmbeddingModelFiresOnTheSameRecordingsAtTheSameTime(
      @org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
    Path src = TestAssets.models().resolve("demo-only/openwakeword");
    for (String f :
        List.of("melspectrogram.onnx", "embedding_model.onnx", "hey_jarvis_v0.1.onnx")) {
      java.nio.file.Files.copy(src.resolve(f), tmp.resolve(f));
    }
    List<Path> wavs = new ArrayList<>();
    for (String f :
        List.of(
            "hey_jarvis_16k.wav",
            "hey_jarvis_pinknoise_16k.wav",
            "alexa_16k.wav",
            "stop_16k.wav",
            "weather_16k.wav",
            "sent_16k.wav",
            "librivox_0870_16k.wav",
            "pinknoise3s.wav")) {
      wavs.add(TestAssets.media(f));
    }
    WakeWordQuantizer.Result r = WakeWordQuantizer.quantize(tmp, List.of("hey_jarvis_v0.1"), wavs);
    assertThat(r.file()).exists();
    assertThat(r.report().quantizedNodes()).containsEntry("Conv", 19);
    // exactly the two hey jarvis recordings, nothing else
    assertThat(r.detections()).hasSize(2).allMatch(d -> d.startsWith("hey_jarvis"));
    assertThat(java.nio.file.Files.size(r.file()))
        .isLessThan(java.nio.file.Files.size(src.resolve("embedding_model.onnx")) / 2);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "alexa_16k.wav",
        "stop_16k.wav",
        "weather_16k.wav",
        "sent_16k.wav",
        "silence3s.wav",
        "librivox_0870_16k.wav"
      })
  void otherWordsAndSpeechDoNotWakeIt(String file) {
    assertThat(run(file)).isEmpty();
  }
}
