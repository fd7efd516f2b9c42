package dev.massedge.inference.onnx.tools;

/**
 * How to quantize.
 *
 * @param activations {@code UINT8} (asymmetric, ONNX Runtime's default) or {@code INT8} (symmetric,
 *     what TensorRT's INT8 mode wants)
 * @param calibration {@code MINMAX} or {@code PERCENTILE}
 * @param percentile the percentile kept by {@code PERCENTILE} (for example 99.99)
 * @param perChannel per-channel weight scales (needs opset 13; older models are raised to 13 when
 *     all their operators mean the same there, else weights fall back to per-tensor)
 * @param keepFloat a regular expression: nodes whose name matches it stay float (mixed precision
 *     for layers that lose too much), "" for none
 */
public record QuantizationOptions(
    ActivationType activations,
    Calibration calibration,
    double percentile,
    boolean perChannel,
    String keepFloat) {

  public enum ActivationType {
    UINT8,
    INT8
  }

  public enum Calibration {
    MINMAX,
    PERCENTILE
  }

  public static final QuantizationOptions DEFAULTS =
      new QuantizationOptions(ActivationType.UINT8, Calibration.PERCENTILE, 99.99, true, "");

  public QuantizationOptions {
    keepFloat = keepFloat == null ? "" : keepFloat;
    java.util.regex.Pattern.compile(keepFloat); // a bad expression fails here, with its position
    if (percentile <= 50 || percentile > 100) {
      throw new IllegalArgumentException("percentile must be in (50, 100], got " + percentile);
    }
  }
}
