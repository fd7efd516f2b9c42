package dev.massedge.inference.vad;

import dev.massedge.inference.DataType;
import dev.massedge.inference.InvalidInputException;
import dev.massedge.inference.ModelSession;
import dev.massedge.inference.Tensor;
import dev.massedge.inference.audio.PcmAudio;
import dev.massedge.inference.model.ModelDescriptor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Streaming voice activity detection with a Silero-style model: each frame is the last {@code
 * contextSamples} of the previous frame plus {@code frameSamples} new ones, the recurrent state is
 * carried from frame to frame. One detector serves many streams; each stream ({@link #newStream()})
 * carries its own state and is used by one thread at a time.
 */
public final class VoiceActivityDetector {
  private final ModelSession session;
  private final ModelDescriptor.VadSettings s;
  private final Tensor sampleRate;

  public VoiceActivityDetector(ModelSession session, ModelDescriptor descriptor) {
    this.session = session;
    this.s = descriptor.vad();
    this.sampleRate = Tensor.ofLongs(new long[0], s.sampleRate());
  }

  public ModelSession session() {
    return session;
  }

  public int sampleRate() {
    return s.sampleRate();
  }

  public int frameSamples() {
    return s.frameSamples();
  }

  public Stream newStream() {
    return new Stream();
  }

  /** Segments a whole recording (resampled to the model's rate first). */
  public List<SpeechSegment> segments(PcmAudio audio) {
    PcmAudio a = audio.resample(s.sampleRate());
    Stream st = newStream();
    List<SpeechSegment> out = new ArrayList<>(st.accept(a.samples(), 0, a.samples().length));
    out.addAll(st.finish());
    return out;
  }

  /** One audio stream's state: the model's recurrent state, the context, and the segmenter. */
  public final class Stream {
    private final int frame = s.frameSamples();
    private final int ctx = s.contextSamples();
    private final float[] window = new float[ctx + frame];
    private final ByteBuffer input =
        ByteBuffer.allocateDirect((ctx + frame) * 4).order(ByteOrder.nativeOrder());
    private final long[] inputShape = {1, ctx + frame};
    private Tensor state;
    private int filled;
    private long processed; // samples fed to the model so far
    private final Segmenter segmenter = new Segmenter();
    private java.util.function.Consumer<Map<String, Tensor>> recorder;

    /** Hands every model input this stream produces to {@code r} (for calibration tools). */
    public Stream recordInputs(java.util.function.Consumer<Map<String, Tensor>> r) {
      this.recorder = r;
      return this;
    }

    private Stream() {
      long[] shape = s.stateShape();
      state = Tensor.ofFloats(shape, new float[(int) Tensor.elementCount(shape)]);
    }

    /** Feeds samples (at the model's rate); returns the segments that ended within them. */
    public List<SpeechSegment> accept(float[] samples, int offset, int length) {
      List<SpeechSegment> done = new ArrayList<>();
      int i = offset;
      int end = offset + length;
      while (i < end) {
        int n = Math.min(frame - filled, end - i);
        System.arraycopy(samples, i, window, ctx + filled, n);
        filled += n;
        i += n;
        if (filled == frame) {
          float p = infer();
          processed += frame;
          SpeechSegment seg = segmenter.push(p, processed - frame, processed);
          if (seg != null) {
            done.add(seg);
          }
          System.arraycopy(window, frame, window, 0, ctx);
          filled = 0;
        }
      }
      return done;
    }

    /** Whether speech is going on now (a segment has started and not yet ended). */
    public boolean inSpeech() {
      return segmenter.triggered;
    }

    /** Probability of speech in the newest full frame. */
    public float lastProbability() {
      return segmenter.lastProbability;
    }

    /** Ends the stream: closes a segment still open. */
    public List<SpeechSegment> finish() {
      SpeechSegment seg = segmenter.finish(processed + filled);
      return seg == null ? List.of() : List.of(seg);
    }

    private float infer() {
      input.clear().asFloatBuffer().put(window);
      Map<String, Tensor> feed =
          Map.of(
              s.input(), Tensor.of(DataType.FP32, inputShape, input.clear()),
              s.state(), state,
              s.sampleRateInput(), sampleRate);
      if (recorder != null) {
        recorder.accept(
            Map.of(
                s.input(), Tensor.ofFloats(inputShape, window.clone()),
                s.state(), state,
                s.sampleRateInput(), sampleRate));
      }
      Map<String, Tensor> out = session.run(feed);
      Tensor p = out.get(s.output());
      state = out.get(s.stateOutput());
      if (p == null || state == null) {
        throw new InvalidInputException(
            "descriptor_mismatch", "VAD outputs missing: " + out.keySet());
      }
      return p.floats().get(0);
    }
  }

  /**
   * Hysteresis segmentation as in Silero's {@code get_speech_timestamps}: speech starts at {@code
   * threshold}, ends after {@code minSilenceMs} below {@code threshold - 0.15}; segments shorter
   * than {@code minSpeechMs} are dropped; each is padded by {@code speechPadMs}.
   */
  private final class Segmenter {
    private final double msPerSample = 1000.0 / s.sampleRate();
    private final float neg = Math.max(0.01f, s.threshold() - 0.15f);
    private final long minSilence = (long) s.minSilenceMs() * s.sampleRate() / 1000;
    private final long minSpeech = (long) s.minSpeechMs() * s.sampleRate() / 1000;
    private final long pad = (long) s.speechPadMs() * s.sampleRate() / 1000;
    private boolean triggered;
    private long start;
    private long tempEnd = -1;
    private float lastProbability;
    private long lastEnd = 0;

    SpeechSegment push(float p, long frameStart, long frameEnd) {
      lastProbability = p;
      if (p >= s.threshold() && tempEnd >= 0) {
        tempEnd = -1;
      }
      if (p >= s.threshold() && !triggered) {
        triggered = true;
        start = frameStart;
        return null;
      }
      if (triggered && p < neg) {
        if (tempEnd < 0) {
          tempEnd = frameStart;
        }
        if (frameEnd - tempEnd >= minSilence) {
          return close(tempEnd, Long.MAX_VALUE);
        }
      }
      return null;
    }

    SpeechSegment finish(long total) {
      return triggered ? close(tempEnd >= 0 ? tempEnd : total, total) : null;
    }

    private SpeechSegment close(long end, long limit) {
      triggered = false;
      tempEnd = -1;
      if (end - start < minSpeech) {
        return null;
      }
      long a = Math.max(lastEnd, start - pad);
      long b = Math.min(limit, end + pad);
      lastEnd = b;
      return new SpeechSegment(a * msPerSample, b * msPerSample);
    }
  }
}
