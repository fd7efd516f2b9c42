package dev.massedge.inference.onnx.tools;

import dev.massedge.inference.Fp16;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.onnx.model.OnnxModel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts a float model to fp16 for GPU targets: weights, constants and intermediate tensors
 * become FLOAT16; inputs and outputs stay FLOAT, with Cast nodes at the edges, so callers do not
 * change. Models with control-flow subgraphs (If, Loop, Scan) are refused.
 */
public final class Fp16Converter {
  private Fp16Converter() {}

  public static OnnxModel convert(OnnxModel model) {
    OnnxModel.Graph g = model.graph();
    for (OnnxModel.Node n : g.nodes) {
      if (n.opType.equals("If") || n.opType.equals("Loop") || n.opType.equals("Scan")) {
        throw new InferenceException(
            "unsupported_model",
            "fp16 conversion does not handle control-flow subgraphs ("
                + n.opType
                + " '"
                + n.name
                + "'); keep this model in fp32 or int8");
      }
    }
    Map<String, OnnxModel.Initializer> converted = new java.util.LinkedHashMap<>();
    for (OnnxModel.Initializer i : g.initializers.values()) {
      converted.put(i.name(), i.dataType() == OnnxModel.FLOAT ? toHalf(i, i.name()) : i);
    }
    g.initializers.clear();
    g.initializers.putAll(converted);
    for (OnnxModel.Node n : g.nodes) {
      if (n.opType.equals("Cast") && n.intAttribute("to", 0) == OnnxModel.FLOAT) {
        n.setIntAttribute("to", OnnxModel.FLOAT16);
      }
      if (n.opType.equals("Constant") || n.opType.equals("ConstantOfShape")) {
        OnnxModel.Initializer v = n.tensorAttribute("value");
        if (v != null && v.dataType() == OnnxModel.FLOAT) {
          n.setTensorAttribute("value", toHalf(v, v.name()));
        } else if (v == null && n.opType.equals("ConstantOfShape")) {
          // without a value ConstantOfShape makes float32 zeros: make them fp16 zeros
          n.setTensorAttribute(
              "value",
              OnnxModel.Initializer.of("", OnnxModel.FLOAT16, new long[] {1}, new byte[2]));
        }
      }
    }
    g.valueInfo.replaceAll(
        v ->
            new OnnxModel.ValueInfo(v).elemType() == OnnxModel.FLOAT
                ? OnnxModel.ValueInfo.withElemType(v, OnnxModel.FLOAT16)
                : v);
    List<OnnxModel.Node> nodes = new ArrayList<>();
    Map<String, String> rename = new HashMap<>();
    for (OnnxModel.ValueInfo in : g.realInputs()) {
      if (in.elemType() == OnnxModel.FLOAT) {
        String half = in.name() + "_fp16";
        nodes.add(cast(in.name(), half, OnnxModel.FLOAT16));
        rename.put(in.name(), half);
      }
    }
    Map<String, String> outputs = new HashMap<>();
    for (OnnxModel.ValueInfo out : g.realOutputs()) {
      if (out.elemType() == OnnxModel.FLOAT) {
        outputs.put(out.name(), out.name() + "_fp16");
      }
    }
    for (OnnxModel.Node n : g.nodes) {
      n.inputs.replaceAll(i -> rename.getOrDefault(i, outputs.getOrDefault(i, i)));
      n.outputs.replaceAll(o -> outputs.getOrDefault(o, o));
      nodes.add(n);
    }
    outputs.forEach((name, half) -> nodes.add(cast(half, name, OnnxModel.FLOAT)));
    g.nodes.clear();
    g.nodes.addAll(nodes);
    return model;
  }

  private static OnnxModel.Node cast(String from, String to, int type) {
    return new OnnxModel.Node("Cast", to + "_Cast", List.of(from), List.of(to))
        .setIntAttribute("to", type);
  }

  private static OnnxModel.Initializer toHalf(OnnxModel.Initializer i, String name) {
    float[] v = i.floats();
    ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) {
      b.putShort(Fp16.fromFloat(x));
    }
    return OnnxModel.Initializer.of(name, OnnxModel.FLOAT16, i.dims(), b.array());
  }
}
