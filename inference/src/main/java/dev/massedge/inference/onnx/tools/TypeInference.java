package dev.massedge.inference.onnx.tools;

import dev.massedge.inference.onnx.model.OnnxModel;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Element types of every tensor in a graph, as far as they follow from the inputs, initializers,
 * value infos and a few rules per operator. Enough to tell float activations from shapes and
 * indices; a tensor whose type cannot be told is left out (and so never quantized).
 */
final class TypeInference {
  private static final Set<String> BOOL_OPS =
      Set.of(
          "Equal",
          "Less",
          "Greater",
          "LessOrEqual",
          "GreaterOrEqual",
          "Not",
          "And",
          "Or",
          "Xor",
          "IsNaN",
          "IsInf");
  private static final Set<String> INT64_OPS =
      Set.of("Shape", "Size", "NonZero", "ArgMax", "ArgMin", "TopK_indices");

  private TypeInference() {}

  static Map<String, Integer> infer(OnnxModel.Graph g) {
    Map<String, Integer> types = new HashMap<>();
    for (var v : g.inputs) {
      var vi = new OnnxModel.ValueInfo(v.getString(1), elem(v), null);
      if (vi.elemType() != 0) {
        types.put(vi.name(), vi.elemType());
      }
    }
    for (var v : g.valueInfo) {
      if (elem(v) != 0) {
        types.put(v.getString(1), elem(v));
      }
    }
    for (var v : g.outputs) {
      if (elem(v) != 0) {
        types.put(v.getString(1), elem(v));
      }
    }
    g.initializers.values().forEach(i -> types.put(i.name(), i.dataType()));
    for (OnnxModel.Node n : g.nodes) {
      Integer t =
          switch (n.opType) {
            case "Constant" -> {
              OnnxModel.Initializer v = n.tensorAttribute("value");
              yield v != null
                  ? v.dataType()
                  : (n.attribute("value_float") != null ? OnnxModel.FLOAT : OnnxModel.INT64);
            }
            case "ConstantOfShape" -> {
              OnnxModel.Initializer v = n.tensorAttribute("value");
              yield v != null ? v.dataType() : OnnxModel.FLOAT;
            }
            case "Cast" -> (int) n.intAttribute("to", 0);
            case "DequantizeLinear" -> OnnxModel.FLOAT;
            case "QuantizeLinear" ->
                n.inputs.size() > 2 ? types.get(n.inputs.get(2)) : Integer.valueOf(OnnxModel.UINT8);
            case "If", "Loop", "Scan" -> null;
            default -> {
              if (BOOL_OPS.contains(n.opType)) {
                yield OnnxModel.BOOL;
              }
              if (INT64_OPS.contains(n.opType)) {
                yield OnnxModel.INT64;
              }
              Integer first = null;
              for (String in : n.inputs) {
                if (!in.isEmpty() && types.containsKey(in)) {
                  first = types.get(in);
                  break;
                }
              }
              yield first;
            }
          };
      if (t != null && t != 0) {
        for (String out : n.outputs) {
          types.putIfAbsent(out, t);
        }
      }
    }
    return types;
  }

  private static int elem(dev.massedge.inference.onnx.model.ProtoMessage v) {
    var type = v.getMessage(2);
    var tensor = type == null ? null : type.getMessage(1);
    return tensor == null ? 0 : (int) tensor.getLong(1, 0);
  }
}
