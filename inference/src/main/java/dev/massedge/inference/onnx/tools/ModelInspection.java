package dev.massedge.inference.onnx.tools;

import dev.massedge.inference.onnx.model.OnnxModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What an ONNX file holds: opsets, operator counts, inputs and outputs, size, and whether it is
 * float, fp16 or quantized (QDQ or QOperator).
 */
public record ModelInspection(
    Path file,
    long sizeBytes,
    long irVersion,
    String producer,
    Map<String, Long> opsets,
    Map<String, Integer> ops,
    List<String> inputs,
    List<String> outputs,
    Map<String, Integer> initializerTypes,
    String precision) {

  public static ModelInspection of(Path file) {
    OnnxModel m = OnnxModel.read(file);
    long size;
    try {
      size = Files.size(file);
    } catch (java.io.IOException e) {
      size = -1;
    }
    return of(file, size, m);
  }

  public static ModelInspection of(Path file, long size, OnnxModel m) {
    Map<String, Integer> ops = new TreeMap<>();
    for (OnnxModel.Node n : m.graph().nodes) {
      String key =
          n.domain.isEmpty() || n.domain.equals("ai.onnx") ? n.opType : n.domain + "." + n.opType;
      ops.merge(key, 1, Integer::sum);
    }
    Map<String, Integer> types = new TreeMap<>();
    for (OnnxModel.Initializer i : m.graph().initializers.values()) {
      types.merge(typeName(i.dataType()), 1, Integer::sum);
    }
    String precision;
    if (ops.keySet().stream()
        .anyMatch(
            o -> o.startsWith("QLinear") || o.equals("ConvInteger") || o.equals("MatMulInteger"))) {
      precision = "int8 (QOperator)";
    } else if (ops.containsKey("QuantizeLinear") || ops.containsKey("DequantizeLinear")) {
      precision = "int8 (QDQ)";
    } else if (types.containsKey("FLOAT16") && !types.containsKey("FLOAT")) {
      precision = "fp16";
    } else {
      precision = "fp32";
    }
    return new ModelInspection(
        file,
        size,
        m.irVersion(),
        m.producer(),
        m.opsets(),
        ops,
        m.graph().realInputs().stream().map(ModelInspection::describe).toList(),
        m.graph().realOutputs().stream().map(ModelInspection::describe).toList(),
        types,
        precision);
  }

  static String describe(OnnxModel.ValueInfo v) {
    return v.name()
        + " "
        + typeName(v.elemType())
        + (v.shape() == null ? "" : Arrays.toString(v.shape()).replace("-1", "?"));
  }

  public static String typeName(int t) {
    return switch (t) {
      case 1 -> "FLOAT";
      case 2 -> "UINT8";
      case 3 -> "INT8";
      case 4 -> "UINT16";
      case 5 -> "INT16";
      case 6 -> "INT32";
      case 7 -> "INT64";
      case 8 -> "STRING";
      case 9 -> "BOOL";
      case 10 -> "FLOAT16";
      case 11 -> "DOUBLE";
      case 16 -> "BFLOAT16";
      default -> "type" + t;
    };
  }

  /** A human-readable summary, as the CLI prints it. */
  public String summary() {
    StringBuilder s = new StringBuilder();
    s.append(file).append('\n');
    s.append(String.format("  size        %,d bytes%n", sizeBytes));
    s.append("  precision   ").append(precision).append('\n');
    s.append("  ir_version  ")
        .append(irVersion)
        .append("   producer ")
        .append(producer)
        .append('\n');
    s.append("  opsets      ").append(opsets).append('\n');
    s.append("  inputs      ").append(inputs).append('\n');
    s.append("  outputs     ").append(outputs).append('\n');
    s.append("  weights     ").append(initializerTypes).append('\n');
    s.append("  ops         ").append(ops).append('\n');
    return s.toString();
  }
}
