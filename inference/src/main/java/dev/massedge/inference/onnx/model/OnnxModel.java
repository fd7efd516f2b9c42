package dev.massedge.inference.onnx.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An ONNX model read from its protobuf bytes (a subset of {@code onnx.proto}: model, graph, node,
 * attribute, tensor, value info), editable, and written back with everything it does not model left
 * as it was.
 */
public final class OnnxModel {
  // ModelProto
  static final int M_IR_VERSION = 1;
  static final int M_PRODUCER = 2;
  static final int M_GRAPH = 7;
  static final int M_OPSET = 8;
  // OperatorSetIdProto
  static final int OPSET_DOMAIN = 1;
  static final int OPSET_VERSION = 2;
  // GraphProto
  static final int G_NODE = 1;
  static final int G_NAME = 2;
  static final int G_INITIALIZER = 5;
  static final int G_INPUT = 11;
  static final int G_OUTPUT = 12;
  static final int G_VALUE_INFO = 13;

  /** The ONNX TensorProto.DataType numbers this project uses. */
  public static final int FLOAT = 1;

  public static final int UINT8 = 2;
  public static final int INT8 = 3;
  public static final int INT32 = 6;
  public static final int INT64 = 7;
  public static final int BOOL = 9;
  public static final int FLOAT16 = 10;
  public static final int DOUBLE = 11;

  private final ProtoMessage model;
  private final Graph graph;

  private OnnxModel(ProtoMessage model) {
    this.model = model;
    ProtoMessage g = model.getMessage(M_GRAPH);
    if (g == null) {
      throw new OnnxFormatException("the file has no graph: not an ONNX model");
    }
    this.graph = new Graph(g);
  }

  public static OnnxModel read(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new OnnxFormatException("cannot read " + file + ": " + e.getMessage());
    }
    try {
      return parse(bytes);
    } catch (OnnxFormatException e) {
      throw new OnnxFormatException(file + " is not a valid ONNX model: " + e.getMessage());
    }
  }

  public static OnnxModel parse(byte[] bytes) {
    if (bytes.length == 0) {
      throw new OnnxFormatException("the file is empty");
    }
    OnnxModel m = new OnnxModel(ProtoMessage.parse(bytes));
    if (m.irVersion() <= 0) {
      throw new OnnxFormatException("ir_version is missing: not an ONNX model");
    }
    return m;
  }

  public byte[] toByteArray() {
    return model.copy().setMessage(M_GRAPH, graph.toProto()).toByteArray();
  }

  public void write(Path file) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.write(tmp, toByteArray());
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  public long irVersion() {
    return model.getLong(M_IR_VERSION, 0);
  }

  public String producer() {
    return model.getString(M_PRODUCER);
  }

  /** Opset version per domain ("" is the default ONNX domain). */
  public Map<String, Long> opsets() {
    Map<String, Long> out = new LinkedHashMap<>();
    for (ProtoMessage o : model.getMessages(M_OPSET)) {
      out.put(o.getString(OPSET_DOMAIN), o.getLong(OPSET_VERSION, 0));
    }
    return out;
  }

  public long defaultOpset() {
    Long v = opsets().get("");
    if (v == null) {
      v = opsets().get("ai.onnx");
    }
    return v == null ? 0 : v;
  }

  /** Sets the default domain's opset version. */
  public void setDefaultOpset(long version) {
    List<ProtoMessage> out = new ArrayList<>();
    boolean found = false;
    for (ProtoMessage o : model.getMessages(M_OPSET)) {
      String d = o.getString(OPSET_DOMAIN);
      if (d.isEmpty() || d.equals("ai.onnx")) {
        o = o.copy().setLong(OPSET_VERSION, version);
        found = true;
      }
      out.add(o);
    }
    if (!found) {
      out.add(new ProtoMessage().setString(OPSET_DOMAIN, "").setLong(OPSET_VERSION, version));
    }
    model.setMessages(M_OPSET, out);
  }

  public Graph graph() {
    return graph;
  }

  /** The graph: nodes, initializers (by name, in file order), inputs, outputs, value infos. */
  public static final class Graph {
    private final ProtoMessage raw;
    public final List<Node> nodes = new ArrayList<>();
    public final Map<String, Initializer> initializers = new LinkedHashMap<>();
    public final List<ProtoMessage> inputs;
    public final List<ProtoMessage> outputs;
    public final List<ProtoMessage> valueInfo;

    Graph(ProtoMessage raw) {
      this.raw = raw;
      for (ProtoMessage n : raw.getMessages(G_NODE)) {
        nodes.add(new Node(n));
      }
      for (ProtoMessage t : raw.getMessages(G_INITIALIZER)) {
        Initializer i = new Initializer(t);
        initializers.put(i.name(), i);
      }
      inputs = new ArrayList<>(raw.getMessages(G_INPUT));
      outputs = new ArrayList<>(raw.getMessages(G_OUTPUT));
      valueInfo = new ArrayList<>(raw.getMessages(G_VALUE_INFO));
    }

    ProtoMessage toProto() {
      ProtoMessage g = raw.copy();
      g.setMessages(G_NODE, nodes.stream().map(Node::toProto).toList());
      g.setMessages(G_INITIALIZER, initializers.values().stream().map(Initializer::proto).toList());
      g.setMessages(G_INPUT, inputs);
      g.setMessages(G_OUTPUT, outputs);
      g.setMessages(G_VALUE_INFO, valueInfo);
      return g;
    }

    public String name() {
      return raw.getString(G_NAME);
    }

    /** Graph inputs that are not initializers (older models list initializers as inputs too). */
    public List<ValueInfo> realInputs() {
      return inputs.stream()
          .map(ValueInfo::new)
          .filter(v -> !initializers.containsKey(v.name()))
          .toList();
    }

    public List<ValueInfo> realOutputs() {
      return outputs.stream().map(ValueInfo::new).toList();
    }
  }

  /** A graph input, output or value info: a name and, for tensors, element type and shape. */
  public record ValueInfo(String name, int elemType, long[] shape) {
    public ValueInfo(ProtoMessage m) {
      this(m.getString(1), elemType(m), shape(m));
    }

    private static int elemType(ProtoMessage m) {
      ProtoMessage type = m.getMessage(2);
      ProtoMessage tensor = type == null ? null : type.getMessage(1);
      return tensor == null ? 0 : (int) tensor.getLong(1, 0);
    }

    private static long[] shape(ProtoMessage m) {
      ProtoMessage type = m.getMessage(2);
      ProtoMessage tensor = type == null ? null : type.getMessage(1);
      ProtoMessage shape = tensor == null ? null : tensor.getMessage(2);
      if (shape == null) {
        return null;
      }
      List<ProtoMessage> dims = shape.getMessages(1);
      long[] out = new long[dims.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = dims.get(i).has(1) ? dims.get(i).getLong(1, -1) : -1;
      }
      return out;
    }

    /** A tensor value info of this element type and unknown shape. */
    public static ProtoMessage tensor(String name, int elemType) {
      ProtoMessage tensorType = new ProtoMessage().setLong(1, elemType);
      return new ProtoMessage()
          .setString(1, name)
          .setMessage(2, new ProtoMessage().setMessage(1, tensorType));
    }

    /** The same value info with another element type (shape kept). */
    public static ProtoMessage withElemType(ProtoMessage m, int elemType) {
      ProtoMessage type = m.getMessage(2);
      if (type == null || type.getMessage(1) == null) {
        return m;
      }
      ProtoMessage tensor = type.getMessage(1).copy().setLong(1, elemType);
      return m.copy().setMessage(2, type.copy().setMessage(1, tensor));
    }
  }

  /** A node: op type, domain, inputs, outputs, attributes. */
  public static final class Node {
    private final ProtoMessage raw;
    public final List<String> inputs;
    public final List<String> outputs;
    public String name;
    public final String opType;
    public final String domain;
    public final List<ProtoMessage> attributes;

    Node(ProtoMessage raw) {
      this.raw = raw;
      inputs = new ArrayList<>(raw.getStrings(1));
      outputs = new ArrayList<>(raw.getStrings(2));
      name = raw.getString(3);
      opType = raw.getString(4);
      domain = raw.getString(7);
      attributes = new ArrayList<>(raw.getMessages(5));
    }

    public Node(String opType, String name, List<String> inputs, List<String> outputs) {
      this(new ProtoMessage().setString(3, name).setString(4, opType));
      this.inputs.addAll(inputs);
      this.outputs.addAll(outputs);
    }

    ProtoMessage toProto() {
      ProtoMessage m = raw.copy();
      m.setStrings(1, inputs);
      m.setStrings(2, outputs);
      if (!name.isEmpty()) {
        m.setString(3, name);
      }
      m.setMessages(5, attributes);
      return m;
    }

    public ProtoMessage attribute(String attr) {
      for (ProtoMessage a : attributes) {
        if (a.getString(1).equals(attr)) {
          return a;
        }
      }
      return null;
    }

    public long intAttribute(String attr, long dflt) {
      ProtoMessage a = attribute(attr);
      return a == null ? dflt : a.getLong(3, dflt);
    }

    public long[] intsAttribute(String attr) {
      ProtoMessage a = attribute(attr);
      return a == null ? null : a.getLongs(8);
    }

    /** A tensor-valued attribute (Constant's {@code value}). */
    public Initializer tensorAttribute(String attr) {
      ProtoMessage a = attribute(attr);
      ProtoMessage t = a == null ? null : a.getMessage(5);
      return t == null ? null : new Initializer(t);
    }

    public Node setIntAttribute(String attr, long v) {
      attributes.removeIf(a -> a.getString(1).equals(attr));
      attributes.add(new ProtoMessage().setString(1, attr).setLong(20, 2).setLong(3, v));
      return this;
    }

    public Node setTensorAttribute(String attr, Initializer t) {
      attributes.removeIf(a -> a.getString(1).equals(attr));
      attributes.add(new ProtoMessage().setString(1, attr).setLong(20, 4).setMessage(5, t.proto()));
      return this;
    }

    @Override
    public String toString() {
      return opType + "(" + name + ": " + inputs + " -> " + outputs + ")";
    }
  }

  /** A tensor in the file: an initializer, or a Constant's value. */
  public static final class Initializer {
    private final ProtoMessage raw;

    Initializer(ProtoMessage raw) {
      this.raw = raw;
    }

    public static Initializer of(String name, int dataType, long[] dims, byte[] rawData) {
      ProtoMessage m = new ProtoMessage();
      for (long d : dims) {
        m.addLong(1, d);
      }
      m.setLong(2, dataType).setString(8, name).setBytes(9, rawData);
      return new Initializer(m);
    }

    public static Initializer ofFloats(String name, long[] dims, float[] values) {
      ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      b.asFloatBuffer().put(values);
      return of(name, FLOAT, dims, b.array());
    }

    public ProtoMessage proto() {
      return raw;
    }

    public String name() {
      return raw.getString(8);
    }

    public int dataType() {
      return (int) raw.getLong(2, 0);
    }

    public long[] dims() {
      return raw.getLongs(1);
    }

    public long elementCount() {
      long n = 1;
      for (long d : dims()) {
        n *= d;
      }
      return n;
    }

    public boolean external() {
      return raw.getLong(14, 0) == 1;
    }

    public int byteSize() {
      byte[] r = raw.getBytes(9);
      return r != null ? r.length : raw.toByteArray().length;
    }

    /** The values of a FLOAT, FLOAT16 or DOUBLE tensor as floats. */
    public float[] floats() {
      if (external()) {
        throw new OnnxFormatException("tensor '" + name() + "' keeps its data in an external file");
      }
      int n = (int) elementCount();
      byte[] r = raw.getBytes(9);
      float[] out = new float[n];
      switch (dataType()) {
        case FLOAT -> {
          if (r != null) {
            ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
          } else {
            float[] f = raw.getFloats(4);
            System.arraycopy(f, 0, out, 0, Math.min(n, f.length));
          }
        }
        case FLOAT16 -> {
          if (r != null) {
            var s = ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
            for (int i = 0; i < n; i++) {
              out[i] = dev.massedge.inference.Fp16.toFloat(s.get(i));
            }
          } else {
            long[] v = raw.getLongs(5);
            for (int i = 0; i < n; i++) {
              out[i] = dev.massedge.inference.Fp16.toFloat((short) v[i]);
            }
          }
        }
        case DOUBLE -> {
          var d = ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
          for (int i = 0; i < n; i++) {
            out[i] = (float) d.get(i);
          }
        }
        default ->
            throw new OnnxFormatException(
                "tensor '" + name() + "' has data type " + dataType() + ", not a float type");
      }
      return out;
    }

    /** The values of an integer tensor (INT64, INT32) as longs. */
    public long[] longs() {
      int n = (int) elementCount();
      byte[] r = raw.getBytes(9);
      long[] out = new long[n];
      if (dataType() == INT64) {
        if (r != null) {
          ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
        } else {
          long[] v = raw.getLongs(7);
          System.arraycopy(v, 0, out, 0, Math.min(n, v.length));
        }
      } else if (dataType() == INT32) {
        if (r != null) {
          var b = ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
          for (int i = 0; i < n; i++) {
            out[i] = b.get(i);
          }
        } else {
          long[] v = raw.getLongs(5);
          System.arraycopy(v, 0, out, 0, Math.min(n, v.length));
        }
      } else {
        throw new OnnxFormatException("tensor '" + name() + "' is not an integer tensor");
      }
      return out;
    }
  }
}
