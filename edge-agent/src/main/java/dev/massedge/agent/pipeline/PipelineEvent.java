package dev.massedge.agent.pipeline;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.massedge.inference.face.Face;
import io.micronaut.core.annotation.Introspected;

/**
 * What a pipeline tells the world. {@code streamSeconds} is the position in the source's stream
 * (video time), {@code epochMillis} the wall clock when the event was made.
 */
public sealed interface PipelineEvent {
  String pipeline();

  /** The event's name: also the SSE event name, and a {@code type} field in JSON. */
  @JsonProperty("type")
  String type();

  double streamSeconds();

  long epochMillis();

  /**
   * A face came into view (confirmed by enough consecutive detections); {@code snapshot} is the
   * JPEG written with the boxes drawn, when the pipeline has a snapshot directory, else null.
   */
  @Introspected
  record FaceEntered(
      String pipeline,
      long track,
      double streamSeconds,
      long epochMillis,
      Face face,
      String snapshot)
      implements PipelineEvent {
    @Override
    public String type() {
      return "face_entered";
    }
  }

  /** A face left the view; {@code streamSeconds} is when it was last seen. */
  @Introspected
  record FaceLeft(
      String pipeline, long track, double streamSeconds, long epochMillis, double presentSeconds)
      implements PipelineEvent {
    @Override
    public String type() {
      return "face_left";
    }
  }

  /** The number of faces in view changed. */
  @Introspected
  record FaceCount(String pipeline, int count, double streamSeconds, long epochMillis)
      implements PipelineEvent {
    @Override
    public String type() {
      return "face_count";
    }
  }

  /** A wake word was heard; {@code streamSeconds} is when the detector was sure. */
  @Introspected
  record WakeWord(String pipeline, String word, float score, double streamSeconds, long epochMillis)
      implements PipelineEvent {
    @Override
    public String type() {
      return "wake_word";
    }
  }

  /** Speech started or stopped (the VAD's view, before an utterance is complete). */
  @Introspected
  record Speaking(String pipeline, boolean speaking, double streamSeconds, long epochMillis)
      implements PipelineEvent {
    @Override
    public String type() {
      return "speaking";
    }
  }

  /** The push-to-talk button was pressed: the next utterance is captured without a wake word. */
  @Introspected
  record PushToTalk(String pipeline, long epochMillis) implements PipelineEvent {
    @Override
    public String type() {
      return "push_to_talk";
    }

    @Override
    public double streamSeconds() {
      return Double.NaN;
    }
  }

  /**
   * A snapshot another pipeline's event asked for ({@code reason}: for example {@code
   * wake_word:kiosk}): the JPEG of the next analysed frame with its faces' boxes.
   */
  @Introspected
  record Snapshot(
      String pipeline,
      String reason,
      String path,
      int faces,
      double streamSeconds,
      long epochMillis)
      implements PipelineEvent {
    @Override
    public String type() {
      return "snapshot";
    }
  }

  /**
   * A voice session opened or closed by a trigger from another pipeline ({@code by}: for example
   * {@code face:door}, a face in the camera pipeline {@code door}'s view): while it is open, speech
   * is captured as a request without the wake word.
   */
  @Introspected
  record VoiceSession(String pipeline, boolean open, String by, long epochMillis)
      implements PipelineEvent {
    @Override
    public String type() {
      return open ? "voice_session_opened" : "voice_session_closed";
    }

    @Override
    public double streamSeconds() {
      return Double.NaN;
    }
  }

  /**
   * A stretch of speech ended: its start and end in the stream, and what it answers ({@code
   * wake_word}: the request after a wake word; {@code wake_phrase}: the wake word itself; {@code
   * button}; {@code session} when it began in a voice session another pipeline opened; or {@code
   * vad} when nothing asked for it). {@code audio} is the WAV file of the segment when the pipeline
   * has an utterance directory, else null.
   */
  @Introspected
  record Utterance(
      String pipeline,
      double startSeconds,
      double streamSeconds,
      long epochMillis,
      String trigger,
      String audio)
      implements PipelineEvent {
    @Override
    public String type() {
      return "utterance";
    }
  }
}
