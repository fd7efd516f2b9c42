package dev.massedge.inference.onnx.tools;

import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.ModelSession;
import dev.massedge.inference.Tensor;
import dev.massedge.inference.onnx.OnnxEngine;
import dev.massedge.inference.onnx.model.OnnxModel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Static int8 quantization in QDQ form: calibrate activation ranges by running the float model on
 * sample inputs, then insert QuantizeLinear/DequantizeLinear pairs on the activations of the
 * operators it covers, store weights as per-channel symmetric int8 and biases as int32. ONNX
 * Runtime fuses the pairs into quantized kernels (QLinearConv, QLinearAdd, ...); TensorRT's INT8
 * mode reads QDQ directly. Operators it does not cover stay float and are listed in the report.
 */
public final class StaticQuantizer {
  /** Operators whose float inputs and outputs get QDQ pairs. */
  static final Set<String> QUANTIZABLE =
      Set.of(
          "Conv",
          "MatMul",
          "Gemm",
          "Add",
          "Mul",
          "Relu",
          "Clip",
          "PRelu",
          "LeakyRelu",
          "MaxPool",
          "AveragePool",
          "GlobalAveragePool",
          "Concat",
          "Reshape",
          "Transpose",
          "Flatten",
          "Squeeze",
          "Unsqueeze",
          "Resize",
          "Sigmoid",
          "Pad");

  /** Inputs that carry data (the others are shapes, axes, pads...): input index → activation. */
  static boolean isDataInput(String op, int index) {
    return switch (op) {
      case "Reshape",
          "Squeeze",
          "Unsqueeze",
          "Flatten",
          "Transpose",
          "Relu",
          "Sigmoid",
          "MaxPool",
          "AveragePool",
          "GlobalAveragePool",
          "LeakyRelu",
          "Pad",
          "Resize",
          "Clip" ->
          index == 0;
      case "Conv", "Gemm" -> index < 2; // index 2 is the bias
      default -> true; // MatMul, Add, Mul, Concat, PRelu
    };
  }

  /** Operators whose meaning did not change from opset 10-12 to 13. */
  static final Set<String> SAME_IN_OPSET_13 =
      Set.of(
          "Conv",
          "Relu",
          "Add",
          "Mul",
          "Sub",
          "Div",
          "MaxPool",
          "AveragePool",
          "GlobalAveragePool",
          "Concat",
          "Reshape",
          "Transpose",
          "ConstantOfShape",
          "Constant",
          "Identity",
          "Sigmoid",
          "Tanh",
          "Clip",
          "PRelu",
          "Pad",
          "Gemm",
          "MatMul",
          "Flatten",
          "Gather",
          "Shape",
          "Cast",
          "LeakyRelu",
          "Exp",
          "Sqrt",
          "Abs",
          "Neg");

  static final long MIN_OPSET = 10;
  static final long MAX_OPSET = 21;

  private StaticQuantizer() {}

  public record Result(OnnxModel model, QuantizationReport report) {}

  public static Result quantize(
      OnnxModel model, List<Map<String, Tensor>> calibration, QuantizationOptions options) {
    long opset = model.defaultOpset();
    if (opset < MIN_OPSET || opset > MAX_OPSET) {
      throw new InferenceException(
          "unsupported_opset",
          "the model uses opset "
              + opset
              + "; static QDQ quantization supports opsets "
              + MIN_OPSET
              + " to "
              + MAX_OPSET);
    }
    if (calibration == null || calibration.isEmpty()) {
      throw new InferenceException(
          "calibration_empty",
          "the calibration set is empty: give at least one sample input (ten or more"
              + " representative ones work best)");
    }
    OnnxModel.Graph g = model.graph();
    long floatBytes = model.toByteArray().length;
    List<String> notes = new ArrayList<>();

    boolean perChannel = options.perChannel();
    long newOpset = opset;
    if (perChannel && opset < 13) {
      Set<String> others = new java.util.TreeSet<>();
      for (OnnxModel.Node n : g.nodes) {
        if (!SAME_IN_OPSET_13.contains(n.opType) && !QUANTIZABLE.contains(n.opType)) {
          others.add(n.opType);
        }
      }
      if (others.isEmpty()) {
        newOpset = 13;
        notes.add(
            "opset raised from "
                + opset
                + " to 13 for per-channel weights (all operators mean the same there)");
      } else {
        perChannel = false;
        notes.add(
            "per-channel weights need opset 13; "
                + others
                + " may change meaning there, so weights are per-tensor");
      }
    }

    Map<String, Integer> types = TypeInference.infer(g);
    Set<String> graphOutputs = new HashSet<>();
    g.realOutputs().forEach(o -> graphOutputs.add(o.name()));

    // Tensors that reach a graph output through data movement only (the detection heads' logits
    // and box offsets): quantizing them costs accuracy where it shows and saves little, so they
    // stay float, as do the convolutions that write them.
    Set<String> outputSide = outputSide(g);

    // 1. which activations get QDQ pairs
    Set<String> activations = new LinkedHashSet<>();
    Map<String, Integer> quantizedOps = new TreeMap<>();
    List<String> floatNodes = new ArrayList<>();
    for (OnnxModel.Node n : g.nodes) {
      boolean standard = n.domain.isEmpty() || n.domain.equals("ai.onnx");
      if (!standard || !QUANTIZABLE.contains(n.opType)) {
        floatNodes.add(n.opType + " '" + n.name + "': operator not covered");
        continue;
      }
      if (!options.keepFloat().isEmpty() && n.name.matches(options.keepFloat())) {
        floatNodes.add(n.opType + " '" + n.name + "': kept float by --keep-float");
        continue;
      }
      if (n.outputs.stream().allMatch(outputSide::contains)) {
        floatNodes.add(
            n.opType + " '" + n.name + "': writes a model output (kept float for accuracy)");
        continue;
      }
      List<String> data = new ArrayList<>();
      for (int i = 0; i < n.inputs.size(); i++) {
        String in = n.inputs.get(i);
        if (in.isEmpty() || !isDataInput(n.opType, i)) {
          continue;
        }
        if (g.initializers.containsKey(in)) {
          continue; // weights and constants are quantized as such below
        }
        Integer t = types.get(in);
        if (t == null || t != OnnxModel.FLOAT) {
          data = null;
          break;
        }
        data.add(in);
      }
      if (data == null) {
        floatNodes.add(
            n.opType + " '" + n.name + "': an input is not float or its type is unknown");
        continue;
      }
      activations.addAll(data);
      for (String out : n.outputs) {
        if (Integer.valueOf(OnnxModel.FLOAT).equals(types.get(out))
            && !graphOutputs.contains(out)
            && !outputSide.contains(out)) {
          activations.add(out);
        }
      }
      quantizedOps.merge(n.opType, 1, Integer::sum);
    }

    // 2. calibrate
    Map<String, ActivationStats> stats = calibrate(model, activations, calibration);
    Map<String, QParams> qparams = new HashMap<>();
    for (String a : activations) {
      ActivationStats s = stats.get(a);
      if (s == null || s.empty()) {
        notes.add("activation '" + a + "' produced no values in calibration: left float");
        continue;
      }
      float[] r = s.range(options.calibration(), options.percentile());
      qparams.put(a, QParams.activation(r[0], r[1], options.activations()));
    }

    // 3. rewrite
    Naming naming = new Naming();
    Set<String> initializersBefore = new HashSet<>(g.initializers.keySet());
    List<OnnxModel.Node> out = new ArrayList<>();
    Map<String, String> dqName = new HashMap<>();
    Map<String, OnnxModel.Initializer> added = new LinkedHashMap<>();
    for (var in : g.realInputs()) {
      if (qparams.containsKey(in.name())) {
        addQdq(naming, in.name(), in.name(), qparams.get(in.name()), out, added, dqName);
      }
    }
    Map<String, String> weightDq = new HashMap<>();
    for (OnnxModel.Node n : g.nodes) {
      boolean covered =
          quantizedOps.containsKey(n.opType)
              && !floatNodes.stream().anyMatch(f -> f.contains("'" + n.name + "'"));
      for (int i = 0; i < n.inputs.size(); i++) {
        String in = n.inputs.get(i);
        if (dqName.containsKey(in)) {
          n.inputs.set(i, dqName.get(in));
        } else if (covered
            && g.initializers.containsKey(in)
            && g.initializers.get(in).dataType() == OnnxModel.FLOAT) {
          String replaced =
              quantizeConstant(naming, n, i, g, qparams, perChannel, options, added, out, weightDq);
          if (replaced != null) {
            n.inputs.set(i, replaced);
          }
        }
      }
      out.add(n);
      for (String o : n.outputs) {
        if (qparams.containsKey(o)) {
          addQdq(naming, o, o, qparams.get(o), out, added, dqName);
        }
      }
    }
    g.nodes.clear();
    g.nodes.addAll(out);
    g.initializers.putAll(added);
    // drop float weights nothing reads any more
    Set<String> used = new HashSet<>();
    g.nodes.forEach(n -> used.addAll(n.inputs));
    g.nodes.forEach(n -> n.attributes.forEach(a -> subgraphInputs(a, used)));
    g.realOutputs().forEach(o -> used.add(o.name()));
    g.initializers.keySet().removeIf(k -> !used.contains(k));
    // older models also list initializers as graph inputs: drop the entries of removed ones
    g.inputs.removeIf(
        v ->
            initializersBefore.contains(v.getString(1))
                && !g.initializers.containsKey(v.getString(1)));
    if (newOpset != opset) {
      model.setDefaultOpset(newOpset);
    }
    long quantizedBytes = model.toByteArray().length;
    QuantizationReport report =
        new QuantizationReport(
            options.activations().name(),
            options.calibration() == QuantizationOptions.Calibration.MINMAX
                ? "minmax"
                : "percentile " + options.percentile(),
            calibration.size(),
            perChannel,
            opset,
            newOpset,
            quantizedOps,
            floatNodes,
            qparams.size(),
            floatBytes,
            quantizedBytes,
            notes);
    return new Result(model, report);
  }

  /** Names read inside a node's subgraphs (If/Loop/Scan bodies may read outer initializers). */
  static void subgraphInputs(
      dev.massedge.inference.onnx.model.ProtoMessage attribute, Set<String> out) {
    List<dev.massedge.inference.onnx.model.ProtoMessage> graphs =
        new ArrayList<>(attribute.getMessages(6));
    graphs.addAll(attribute.getMessages(11));
    for (var graph : graphs) {
      for (var node : graph.getMessages(1)) {
        out.addAll(node.getStrings(1));
        node.getMessages(5).forEach(a -> subgraphInputs(a, out));
      }
    }
  }

  static final Set<String> DATA_MOVEMENT =
      Set.of("Transpose", "Reshape", "Concat", "Flatten", "Squeeze", "Unsqueeze", "Identity");

  static Set<String> outputSide(OnnxModel.Graph g) {
    Map<String, OnnxModel.Node> producer = new HashMap<>();
    g.nodes.forEach(n -> n.outputs.forEach(o -> producer.put(o, n)));
    Set<String> side = new HashSet<>();
    java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>();
    g.realOutputs().forEach(o -> todo.add(o.name()));
    while (!todo.isEmpty()) {
      String t = todo.pop();
      if (!side.add(t)) {
        continue;
      }
      OnnxModel.Node p = producer.get(t);
      if (p != null && DATA_MOVEMENT.contains(p.opType)) {
        for (int i = 0; i < p.inputs.size(); i++) {
          if (isDataInput(p.opType, i) && !g.initializers.containsKey(p.inputs.get(i))) {
            todo.add(p.inputs.get(i));
          }
        }
      }
    }
    return side;
  }

  /** Quantization parameters of one tensor. */
  record QParams(float scale, int zeroPoint, int type) {
    static QParams activation(float min, float max, QuantizationOptions.ActivationType t) {
      float lo = Math.min(0f, min);
      float hi = Math.max(0f, max);
      if (t == QuantizationOptions.ActivationType.INT8) {
        float a = Math.max(Math.abs(lo), Math.abs(hi));
        return new QParams(a > 0 ? a / 127f : 1f, 0, OnnxModel.INT8);
      }
      float scale = hi > lo ? (hi - lo) / 255f : 1f;
      int zp = Math.round(-lo / scale);
      return new QParams(scale, Math.max(0, Math.min(255, zp)), OnnxModel.UINT8);
    }
  }

  private static void addQdq(
      Naming naming,
      String source,
      String base,
      QParams q,
      List<OnnxModel.Node> out,
      Map<String, OnnxModel.Initializer> added,
      Map<String, String> dqName) {
    String id = naming.id(base);
    String scale = id + "_s";
    String zp = id + "_z";
    added.put(scale, OnnxModel.Initializer.ofFloats(scale, new long[0], new float[] {q.scale()}));
    added.put(
        zp, OnnxModel.Initializer.of(zp, q.type(), new long[0], new byte[] {(byte) q.zeroPoint()}));
    String quantized = id + "_q";
    String dequantized = naming.dq(base);
    out.add(
        new OnnxModel.Node(
            "QuantizeLinear", id + "_Q", List.of(source, scale, zp), List.of(quantized)));
    out.add(
        new OnnxModel.Node(
            "DequantizeLinear", id + "_DQ", List.of(quantized, scale, zp), List.of(dequantized)));
    dqName.put(source, dequantized);
  }

  /**
   * Quantizes a float initializer read by a covered node: Conv/Gemm/MatMul weights per channel
   * (int8, symmetric), Conv/Gemm biases as int32 (scale = input scale × weight scale), other
   * constants per tensor like activations. Returns the dequantized name, or null to leave it float.
   */
  private static String quantizeConstant(
      Naming naming,
      OnnxModel.Node n,
      int index,
      OnnxModel.Graph g,
      Map<String, QParams> qparams,
      boolean perChannel,
      QuantizationOptions options,
      Map<String, OnnxModel.Initializer> added,
      List<OnnxModel.Node> out,
      Map<String, String> cache) {
    OnnxModel.Initializer w = g.initializers.get(n.inputs.get(index));
    String op = n.opType;
    boolean weight = (op.equals("Conv") || op.equals("Gemm") || op.equals("MatMul")) && index == 1;
    boolean bias = (op.equals("Conv") || op.equals("Gemm")) && index == 2;
    String key = w.name() + (bias ? "#bias:" + n.inputs.get(0) : "");
    if (cache.containsKey(key)) {
      return cache.get(key);
    }
    float[] v = w.floats();
    long[] dims = w.dims();
    String result;
    if (weight) {
      int axis = 0;
      if (op.equals("MatMul") && dims.length == 2) {
        axis = 1;
      } else if (op.equals("Gemm")) {
        axis = n.intAttribute("transB", 0) == 1 ? 0 : 1;
      }
      int channels = perChannel && dims.length > 0 ? (int) dims[axis] : 1;
      float[] scales = new float[channels];
      int inner = 1;
      for (int d = axis + 1; d < dims.length; d++) {
        inner *= (int) dims[d];
      }
      for (int i = 0; i < v.length; i++) {
        int c = channels == 1 ? 0 : (i / inner) % channels;
        scales[c] = Math.max(scales[c], Math.abs(v[i]));
      }
      for (int c = 0; c < channels; c++) {
        scales[c] = scales[c] > 0 ? scales[c] / 127f : 1f;
      }
      // The int32 bias is quantized with input scale × weight scale: a channel whose weights are
      // all near zero would overflow it. Widen such a channel's weight scale so the bias fits.
      QParams in = qparams.get(naming.original(n.inputs.get(0)));
      OnnxModel.Initializer b =
          n.inputs.size() > 2 ? g.initializers.get(naming.original(n.inputs.get(2))) : null;
      if (in != null && b != null && b.dataType() == OnnxModel.FLOAT && channels > 1) {
        float[] biasValues = b.floats();
        for (int c = 0; c < Math.min(channels, biasValues.length); c++) {
          float needed = Math.abs(biasValues[c]) / (in.scale() * BIAS_LIMIT);
          scales[c] = Math.max(scales[c], needed);
        }
      }
      byte[] q = new byte[v.length];
      for (int i = 0; i < v.length; i++) {
        int c = channels == 1 ? 0 : (i / inner) % channels;
        q[i] = (byte) Math.max(-127, Math.min(127, Math.round(v[i] / scales[c])));
      }
      long[] sdims = channels == 1 ? new long[0] : new long[] {channels};
      result =
          addDq(
              naming,
              w.name(),
              OnnxModel.INT8,
              dims,
              q,
              scales,
              new byte[channels],
              sdims,
              channels == 1 ? -1 : axis,
              added,
              out);
    } else if (bias) {
      QParams in = qparams.get(naming.original(n.inputs.get(0)));
      String wName = naming.original(n.inputs.get(1));
      String wScaleName = naming.id(wName) + "_s";
      OnnxModel.Initializer ws = added.get(wScaleName);
      if (in == null || ws == null) {
        return null; // input or weight not quantized: keep the bias float
      }
      float[] wScales = ws.floats();
      float[] scales = new float[v.length];
      ByteBuffer q = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < v.length; i++) {
        scales[i] = in.scale() * wScales[wScales.length == 1 ? 0 : i];
        q.putInt(Math.round(v[i] / scales[i]));
      }
      String name = w.name() + "#bias-for#" + naming.original(n.inputs.get(0));
      result =
          addDq(
              naming,
              name,
              OnnxModel.INT32,
              dims,
              q.array(),
              scales,
              new byte[v.length * 4],
              new long[] {v.length},
              0,
              added,
              out);
    } else {
      float min = Float.POSITIVE_INFINITY;
      float max = Float.NEGATIVE_INFINITY;
      for (float x : v) {
        min = Math.min(min, x);
        max = Math.max(max, x);
      }
      QParams p = QParams.activation(min, max, options.activations());
      byte[] q = new byte[v.length];
      for (int i = 0; i < v.length; i++) {
        int x = Math.round(v[i] / p.scale()) + p.zeroPoint();
        q[i] =
            p.type() == OnnxModel.UINT8
                ? (byte) Math.max(0, Math.min(255, x))
                : (byte) Math.max(-128, Math.min(127, x));
      }
      result =
          addDq(
              naming,
              w.name(),
              p.type(),
              dims,
              q,
              new float[] {p.scale()},
              new byte[] {(byte) p.zeroPoint()},
              new long[0],
              -1,
              added,
              out);
    }
    cache.put(key, result);
    return result;
  }

  /**
   * Short generated names ({@code mass_q12_s}, {@code mass_q12_dq}, ...): long framework tensor
   * names repeated on every Q/DQ node, scale and zero point would cost a third of an int8 file.
   */
  static final class Naming {
    private final Map<String, String> ids = new HashMap<>();
    private final Map<String, String> originals = new HashMap<>();

    String id(String tensor) {
      return ids.computeIfAbsent(tensor, t -> "mass_q" + ids.size());
    }

    String dq(String tensor) {
      String d = id(tensor) + "_dq";
      originals.put(d, tensor);
      return d;
    }

    /**
     * The tensor a dequantized name stands for (inputs are rewritten before the bias is reached).
     */
    String original(String name) {
      return originals.getOrDefault(name, name);
    }
  }

  /** Largest |int32 bias| allowed, with head room below 2^31 for the accumulator. */
  static final float BIAS_LIMIT = (float) (1 << 30);

  private static String addDq(
      Naming naming,
      String base,
      int type,
      long[] dims,
      byte[] data,
      float[] scales,
      byte[] zeroPoints,
      long[] scaleDims,
      int axis,
      Map<String, OnnxModel.Initializer> added,
      List<OnnxModel.Node> out) {
    String id = naming.id(base);
    String q = id + "_q";
    String s = id + "_s";
    String z = id + "_z";
    added.put(q, OnnxModel.Initializer.of(q, type, dims, data));
    added.put(s, OnnxModel.Initializer.ofFloats(s, scaleDims, scales));
    added.put(z, OnnxModel.Initializer.of(z, type, scaleDims, zeroPoints));
    String dq = naming.dq(base);
    OnnxModel.Node node =
        new OnnxModel.Node("DequantizeLinear", id + "_DQ", List.of(q, s, z), List.of(dq));
    if (axis >= 0) {
      node.setIntAttribute("axis", axis);
    }
    out.add(node);
    return dq;
  }

  /** Runs the float model with every activation exposed as an output and collects ranges. */
  static Map<String, ActivationStats> calibrate(
      OnnxModel model, Set<String> activations, List<Map<String, Tensor>> samples) {
    OnnxModel augmented = OnnxModel.parse(model.toByteArray());
    Set<String> outputs = new HashSet<>();
    augmented.graph().realOutputs().forEach(o -> outputs.add(o.name()));
    for (String a : activations) {
      if (!outputs.contains(a)
          && !augmented.graph().realInputs().stream().anyMatch(i -> i.name().equals(a))) {
        augmented.graph().outputs.add(OnnxModel.ValueInfo.tensor(a, OnnxModel.FLOAT));
      }
    }
    Map<String, ActivationStats> stats = new HashMap<>();
    activations.forEach(a -> stats.put(a, new ActivationStats()));
    Path tmp = null;
    try {
      tmp = Files.createTempFile("mass-calibration", ".onnx");
      Files.write(tmp, augmented.toByteArray());
      try (ModelSession s = new OnnxEngine().open(tmp, EngineOptions.cpu(0))) {
        for (Map<String, Tensor> sample : samples) {
          Map<String, Tensor> result = s.run(sample);
          for (String a : activations) {
            Tensor t = result.get(a);
            if (t == null) {
              t = sample.get(a);
            }
            if (t != null && t.type() == dev.massedge.inference.DataType.FP32) {
              stats.get(a).add(t.floats());
            }
          }
        }
      }
    } catch (IOException e) {
      throw new InferenceException(
          "io_error", "calibration needs a temporary file: " + e.getMessage(), e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort
        }
      }
    }
    return stats;
  }
}
