package dev.massedge.inference.vad;

/** A stretch of speech, in milliseconds from the start of the stream. */
public record SpeechSegment(double startMs, double endMs) {
  public double durationMs() {
    return endMs - startMs;
  }
}
