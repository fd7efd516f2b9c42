package dev.massedge.inference.onnx.model;

import dev.massedge.inference.ModelLoadException;

/** The bytes are not a valid ONNX model (corrupt, truncated, not protobuf, missing parts). */
public class OnnxFormatException extends ModelLoadException {
  public OnnxFormatException(String message) {
    super("onnx_invalid", message);
  }
}
