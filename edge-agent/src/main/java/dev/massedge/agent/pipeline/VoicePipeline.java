package dev.massedge.agent.pipeline;

import dev.massedge.drivers.audio.AudioFrame;
import dev.massedge.drivers.audio.AudioSource;
import dev.massedge.drivers.gpio.PushButton;
import dev.massedge.inference.vad.SpeechSegment;
import dev.massedge.inference.vad.VoiceActivityDetector;
import dev.massedge.inference.wakeword.WakeWordDetector;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Microphone → streaming VAD → an utterance event when speech ends. */
public final class VoicePipeline implements Pipeline {
  private static final Logger log = LoggerFactory.getLogger(VoicePipeline.class);

  /** A segment ending this soon after a wake detection is the wake phrase itself. */
  static final double WAKE_PHRASE_TAIL = 0.5;

  private final String name;
  private final AudioSource source;
  private final VoiceActivityDetector vad;
  private final EventBus bus;
  private final AtomicLong frames = new AtomicLong();
  private final AtomicLong utterances = new AtomicLong();
  private final PipelineThread worker = new PipelineThread();
  private volatile String state = "created";

  private final WakeWordDetector wake;
  private final AtomicLong wakes = new AtomicLong();

  private boolean speaking;
  private volatile String session; // who opened the voice session now open, or null
  private String sessionAtSpeechStart; // the session the current speech began in
  private final AtomicLong sessions = new AtomicLong();
  private volatile String sessionFrom; // the pipeline whose events open sessions, for status

  /**
   * Opens a voice session ({@code by}: what opened it, e.g. {@code face:door}): speech that begins
   * while it is open is a request, no wake word needed. Opening an open session does nothing.
   */
  public synchronized void openSession(String by) {
    if (session == null) {
      session = by;
      sessions.incrementAndGet();
      bus.publish(new PipelineEvent.VoiceSession(name, true, by, System.currentTimeMillis()));
    }
  }

  /** Closes the open voice session, if any. */
  public synchronized void closeSession() {
    if (session != null) {
      String by = session;
      session = null;
      bus.publish(new PipelineEvent.VoiceSession(name, false, by, System.currentTimeMillis()));
    }
  }

  /** Says which pipeline's events open this one's sessions (shown in {@link #status}). */
  VoicePipeline sessionsFrom(String pipeline) {
    this.sessionFrom = pipeline;
    return this;
  }

  private volatile double wakeAt = Double.NEGATIVE_INFINITY;
  private volatile String armedBy =
      null; // "wake_word" or "button": what the next utterance answers

  public VoicePipeline(
      String name,
      AudioSource source,
      VoiceActivityDetector vad,
      WakeWordDetector wake,
      EventBus bus,
      PushButton button) {
    if (source.sampleRate() != vad.sampleRate()) {
      throw new IllegalArgumentException(
          "pipeline '"
              + name
              + "': the microphone gives "
              + source.sampleRate()
              + " Hz, the VAD needs "
              + vad.sampleRate());
    }
    this.name = name;
    this.source = source;
    this.vad = vad;
    this.wake = wake;
    this.bus = bus;
    if (button != null) {
      button.onPress(
          () -> {
            armedBy = "button";
            bus.publish(new PipelineEvent.PushToTalk(name, System.currentTimeMillis()));
          });
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String kind() {
    return "voice";
  }

  @Override
  public synchronized void start() {
    if (!worker.started()) {
      worker.start(name, this::run);
    }
  }

  private void run() {
    state = "running";
    VoiceActivityDetector.Stream stream = vad.newStream();
    WakeWordDetector.Stream words = wake == null ? null : wake.newStream();
    try {
      AudioFrame f;
      while (worker.running() && (f = source.read()) != null) {
        frames.incrementAndGet();
        if (utteranceDir != null) {
          remember(f.samples());
        }
        if (words != null) {
          for (WakeWordDetector.Detection d : words.accept(f.samples(), 0, f.samples().length)) {
            wakes.incrementAndGet();
            armedBy = "wake_word";
            wakeAt = d.seconds();
            bus.publish(
                new PipelineEvent.WakeWord(
                    name, d.wakeWord(), d.score(), d.seconds(), System.currentTimeMillis()));
          }
        }
        for (SpeechSegment s : stream.accept(f.samples(), 0, f.samples().length)) {
          emit(s);
        }
        if (stream.inSpeech() != speaking) {
          speaking = stream.inSpeech();
          if (speaking) {
            sessionAtSpeechStart = session;
          }
          bus.publish(
              new PipelineEvent.Speaking(
                  name,
                  speaking,
                  f.startSeconds() + (double) f.samples().length / source.sampleRate(),
                  System.currentTimeMillis()));
        }
      }
      for (SpeechSegment s : stream.finish()) {
        emit(s);
      }
      state = worker.running() ? "ended" : "stopped";
    } catch (IOException | RuntimeException e) {
      state = "failed: " + e.getMessage();
      log.error("pipeline {}: {}", name, e.toString());
    }
  }

  private void emit(SpeechSegment s) {
    utterances.incrementAndGet();
    String audio = utteranceDir == null ? null : writeAudio(s);
    String trigger;
    if (sessionAtSpeechStart != null || session != null) {
      trigger = "session"; // begun in a session another pipeline opened: a request as it is
      sessionAtSpeechStart = null;
    } else if ("wake_word".equals(armedBy) && s.endMs() / 1000 <= wakeAt + WAKE_PHRASE_TAIL) {
      trigger = "wake_phrase"; // the wake word itself: the request is the next utterance
    } else {
      trigger = armedBy == null ? "vad" : armedBy;
      armedBy = null;
    }
    bus.publish(
        new PipelineEvent.Utterance(
            name,
            s.startMs() / 1000,
            s.endMs() / 1000,
            System.currentTimeMillis(),
            trigger,
            audio));
  }

  private Path utteranceDir;

  /** The last 30 s of audio, for writing utterances out. */
  private final float[] history = new float[30 * 16000];

  private long historyEnd; // samples written so far

  /** Writes every utterance as a 16-bit PCM WAV file into {@code dir}. */
  public VoicePipeline utterances(Path dir) {
    this.utteranceDir = dir;
    return this;
  }

  private void remember(float[] samples) {
    for (float x : samples) {
      history[(int) (historyEnd++ % history.length)] = x;
    }
  }

  private String writeAudio(SpeechSegment s) {
    int rate = source.sampleRate();
    long from = Math.max((long) (s.startMs() * rate / 1000), historyEnd - history.length);
    long to = Math.min((long) (s.endMs() * rate / 1000), historyEnd);
    if (to <= from) {
      return null;
    }
    java.nio.ByteBuffer b =
        java.nio.ByteBuffer.allocate(44 + (int) (to - from) * 2)
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    int data = (int) (to - from) * 2;
    b.put("RIFF".getBytes())
        .putInt(36 + data)
        .put("WAVE".getBytes())
        .put("fmt ".getBytes())
        .putInt(16)
        .putShort((short) 1)
        .putShort((short) 1)
        .putInt(rate)
        .putInt(rate * 2)
        .putShort((short) 2)
        .putShort((short) 16)
        .put("data".getBytes())
        .putInt(data);
    for (long i = from; i < to; i++) {
      float x = Math.max(-1f, Math.min(1f, history[(int) (i % history.length)]));
      b.putShort((short) Math.round(x * 32767));
    }
    try {
      java.nio.file.Files.createDirectories(utteranceDir);
      Path out =
          utteranceDir.resolve(
              name + "-" + System.currentTimeMillis() + "-" + Math.round(s.startMs()) + "ms.wav");
      java.nio.file.Files.write(out, b.array());
      return out.toString();
    } catch (java.io.IOException e) {
      log.warn("pipeline {}: utterance audio not written: {}", name, e.getMessage());
      return null;
    }
  }

  @Override
  public Map<String, Object> status() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    m.put("kind", kind());
    m.put("state", state);
    m.put("audio_frames", frames.get());
    m.put("utterances", utterances.get());
    m.put("wake_words", wakes.get());
    if (sessionFrom != null) {
      m.put("sessions_from", sessionFrom);
      m.put("session_open", session != null);
      m.put("sessions", sessions.get());
    }
    return m;
  }

  @Override
  public void close() {
    worker.stop(source);
    if (wake != null) {
      wake.close();
    }
  }
}
