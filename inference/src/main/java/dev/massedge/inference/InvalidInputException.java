package dev.massedge.inference;

/** The caller's input is wrong (shape, type, count, bytes that cannot be decoded): a 4xx. */
public class InvalidInputException extends InferenceException {
  public InvalidInputException(String code, String message) {
    super(code, message);
  }

  public InvalidInputException(String code, String message, Throwable cause) {
    super(code, message, cause);
  }
}
