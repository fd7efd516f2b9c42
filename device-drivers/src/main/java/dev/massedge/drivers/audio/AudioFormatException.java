package dev.massedge.drivers.audio;

/** Audio that cannot be used: not a WAV, not PCM, truncated, an unknown device. */
public class AudioFormatException extends RuntimeException {
  public AudioFormatException(String message) {
    super(message);
  }

  public AudioFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
