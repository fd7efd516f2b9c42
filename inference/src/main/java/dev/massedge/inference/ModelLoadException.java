package dev.massedge.inference;

/** A model could not be opened: missing or corrupt file, bad descriptor, unsupported engine. */
public class ModelLoadException extends InferenceException {
  public ModelLoadException(String code, String message) {
    super(code, message);
  }

  public ModelLoadException(String code, String message, Throwable cause) {
    super(code, message, cause);
  }
}
