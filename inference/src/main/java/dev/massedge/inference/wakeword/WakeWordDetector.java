package dev.massedge.inference.wakeword;

import dev.massedge.inference.DataType;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.ModelSession;
import dev.massedge.inference.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Wake words in the openWakeWord format: a shared front end (melspectrogram → speech embedding) and
 * any number of small heads, one per wake word, each scoring the last 16 embeddings. Audio is
 * consumed in 80 ms steps (1280 samples at 16 kHz); every step adds 8 mel frames and one embedding.
 * One detector serves many streams; a stream is used by one thread at a time.
 */
public final class WakeWordDetector implements AutoCloseable {
  public static final int SAMPLE_RATE = 16_000;
  public static final int STEP = 1280;
  static final int MEL_CONTEXT = 480; // extra samples the melspectrogram needs before each step
  static final int MEL_FRAMES_PER_STEP = 8;
  public static final int MEL_WINDOW = 76;
  public static final int MEL_BINS = 32;
  static final int EMBEDDINGS = 16;
  static final int EMBEDDING_SIZE = 96;

  /**
   * openWakeWord's default is 0.5; on hey_jarvis in pink noise that fires 380 ms after the word
   * ends (the score climbs slower in noise), too late for a kiosk. At 0.3 it fires at the word's
   * end, and other words, read speech, silence and noise stay below 0.02 (WakeWordDetectorTest).
   */
  public static final float DEFAULT_THRESHOLD = 0.3f;

  /** Noise fed at the start so the buffers hold real features before the first audio. */
  static final int WARMUP_STEPS = 24;

  private final ModelSession mel;
  private final ModelSession embedding;
  private final Map<String, ModelSession> heads;
  private final String melName;
  private final String embeddingName;
  private final float threshold;
  private final double refractorySeconds;

  /**
   * @param heads wake word name → its head model
   * @param threshold a score at or above it is a detection
   * @param refractorySeconds after a detection the same word is not reported again for this long
   */
  public WakeWordDetector(
      ModelSession mel,
      ModelSession embedding,
      Map<String, ModelSession> heads,
      float threshold,
      double refractorySeconds) {
    if (heads.isEmpty()) {
      throw new InferenceException(
          "wakeword_no_heads", "a wake word detector needs at least one head model");
    }
    this.mel = mel;
    this.embedding = embedding;
    this.heads = new LinkedHashMap<>(heads);
    this.melName = mel.inputs().get(0).name();
    this.embeddingName = embedding.inputs().get(0).name();
    this.threshold = threshold;
    this.refractorySeconds = refractorySeconds;
  }

  public record Detection(String wakeWord, double seconds, float score) {}

  public Stream newStream() {
    return new Stream();
  }

  /** One audio stream's buffers and per-word refractory state. */
  public final class Stream {
    private final float[] audio = new float[STEP + MEL_CONTEXT]; // int16-range samples
    private final float[] mels = new float[MEL_WINDOW * MEL_BINS];
    private final float[] embeddings = new float[EMBEDDINGS * EMBEDDING_SIZE];
    private final Map<String, Double> lastDetection = new LinkedHashMap<>();
    private final Map<String, Float> lastScores = new LinkedHashMap<>();
    private final float[] pending = new float[STEP];
    // direct buffers handed to the engine without a copy, reused every step
    private final java.nio.ByteBuffer melIn = direct(STEP + MEL_CONTEXT);
    private final java.nio.ByteBuffer embeddingIn = direct(MEL_WINDOW * MEL_BINS);
    private final java.nio.ByteBuffer headIn = direct(EMBEDDINGS * EMBEDDING_SIZE);
    private int filled;
    private long steps;

    private Stream() {
      // openWakeWord starts its buffers from low-level noise (int16 in ±1000), not from zeros
      java.util.SplittableRandom random = new java.util.SplittableRandom(7);
      float[] noise = new float[STEP];
      for (int i = 0; i < WARMUP_STEPS; i++) {
        for (int j = 0; j < STEP; j++) {
          noise[j] = (random.nextInt(2001) - 1000) / 32767f;
        }
        step(noise, false);
      }
      steps = 0;
    }

    /** Feeds samples in [-1, 1] at 16 kHz; returns the wake words detected in them. */
    public List<Detection> accept(float[] samples, int offset, int length) {
      List<Detection> out = new ArrayList<>();
      for (int i = offset; i < offset + length; ) {
        int n = Math.min(STEP - filled, offset + length - i);
        System.arraycopy(samples, i, pending, filled, n);
        filled += n;
        i += n;
        if (filled == STEP) {
          out.addAll(step(pending, true));
          filled = 0;
        }
      }
      return out;
    }

    /** The newest score of each wake word. */
    public Map<String, Float> scores() {
      return Map.copyOf(lastScores);
    }

    private List<Detection> step(float[] chunk, boolean report) {
      System.arraycopy(audio, STEP, audio, 0, MEL_CONTEXT);
      for (int i = 0; i < STEP; i++) {
        audio[MEL_CONTEXT + i] = chunk[i] * 32767f;
      }
      melIn.clear().asFloatBuffer().put(audio);
      Tensor m =
          only(
              mel.run(
                  Map.of(
                      melName,
                      Tensor.of(DataType.FP32, new long[] {1, audio.length}, melIn.clear()))));
      float[] frames = m.toFloatArray();
      int t = frames.length / MEL_BINS;
      if (t < MEL_FRAMES_PER_STEP) {
        throw new InferenceException(
            "wakeword_model",
            "the melspectrogram model gave "
                + t
                + " frames for "
                + audio.length
                + " samples; expected at least 8");
      }
      System.arraycopy(
          mels,
          MEL_FRAMES_PER_STEP * MEL_BINS,
          mels,
          0,
          (MEL_WINDOW - MEL_FRAMES_PER_STEP) * MEL_BINS);
      int from = (t - MEL_FRAMES_PER_STEP) * MEL_BINS;
      int to = (MEL_WINDOW - MEL_FRAMES_PER_STEP) * MEL_BINS;
      for (int i = 0; i < MEL_FRAMES_PER_STEP * MEL_BINS; i++) {
        mels[to + i] = frames[from + i] / 10f + 2f;
      }
      embeddingIn.clear().asFloatBuffer().put(mels);
      Tensor e =
          only(
              embedding.run(
                  Map.of(
                      embeddingName,
                      Tensor.of(
                          DataType.FP32,
                          new long[] {1, MEL_WINDOW, MEL_BINS, 1},
                          embeddingIn.clear()))));
      System.arraycopy(
          embeddings, EMBEDDING_SIZE, embeddings, 0, (EMBEDDINGS - 1) * EMBEDDING_SIZE);
      System.arraycopy(
          e.toFloatArray(), 0, embeddings, (EMBEDDINGS - 1) * EMBEDDING_SIZE, EMBEDDING_SIZE);
      steps++;
      double now = steps * (double) STEP / SAMPLE_RATE;
      List<Detection> out = new ArrayList<>();
      headIn.clear().asFloatBuffer().put(embeddings);
      Tensor features =
          Tensor.of(DataType.FP32, new long[] {1, EMBEDDINGS, EMBEDDING_SIZE}, headIn.clear());
      for (var h : heads.entrySet()) {
        float score =
            only(h.getValue().run(Map.of(h.getValue().inputs().get(0).name(), features)))
                .toFloatArray()[0];
        lastScores.put(h.getKey(), score);
        if (!report || score < threshold) {
          continue;
        }
        Double last = lastDetection.get(h.getKey());
        if (last == null || now - last >= refractorySeconds) {
          lastDetection.put(h.getKey(), now);
          out.add(new Detection(h.getKey(), now, score));
        }
      }
      return out;
    }
  }

  /** Closes the sessions it was given (the detector owns them). */
  @Override
  public void close() {
    mel.close();
    embedding.close();
    heads.values().forEach(ModelSession::close);
  }

  private static java.nio.ByteBuffer direct(int floats) {
    return java.nio.ByteBuffer.allocateDirect(floats * 4).order(java.nio.ByteOrder.nativeOrder());
  }

  private static Tensor only(Map<String, Tensor> out) {
    return out.values().iterator().next();
  }
}
