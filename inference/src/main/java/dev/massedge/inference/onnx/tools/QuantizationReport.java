package dev.massedge.inference.onnx.tools;

import java.util.List;
import java.util.Map;

/**
 * What the quantizer did: settings, which nodes it quantized (by operator), which it left float and
 * why, and the size before and after.
 */
public record QuantizationReport(
    String activations,
    String calibration,
    int calibrationSamples,
    boolean perChannelWeights,
    long opsetBefore,
    long opsetAfter,
    Map<String, Integer> quantizedNodes,
    List<String> floatNodes,
    int activationTensors,
    long floatBytes,
    long quantizedBytes,
    List<String> notes) {}
