package dev.massedge.inference;

/**
 * Something went wrong with a model or a request. {@link #code()} is a stable, machine-readable
 * code (for example {@code shape_mismatch}); the message says what was expected in words a user can
 * act on.
 */
public class InferenceException extends RuntimeException {
  private final String code;

  public InferenceException(String code, String message) {
    super(message);
    this.code = code;
  }

  public InferenceException(String code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public String code() {
    return code;
  }
}
