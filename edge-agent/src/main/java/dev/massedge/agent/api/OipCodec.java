package dev.massedge.agent.api;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.inference.DataType;
import dev.massedge.inference.InvalidInputException;
import dev.massedge.inference.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Open Inference Protocol (KServe v2) JSON tensors: request inputs → {@link Tensor}s, output
 * tensors → the response body. Data may be flat or nested, as the protocol allows; responses are
 * flat, row-major.
 */
public final class OipCodec {
  private final ObjectMapper mapper;

  public OipCodec(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  /**
   * A parsed request: its id, input tensors, the outputs asked for (empty: all) and which of them
   * are wanted as binary data ({@code binaryAll}: every one).
   */
  record Request(
      String id,
      Map<String, Tensor> inputs,
      List<String> outputs,
      boolean binaryAll,
      Set<String> binaryOutputs) {
    Request(String id, Map<String, Tensor> inputs, List<String> outputs) {
      this(id, inputs, outputs, false, Set.of());
    }

    boolean binary(String output) {
      return binaryAll || binaryOutputs.contains(output);
    }
  }

  /** A response body: JSON, followed by binary tensor data when {@code jsonLength < length}. */
  record Body(byte[] bytes, int jsonLength) {
    boolean binary() {
      return jsonLength < bytes.length;
    }
  }

  Request parse(byte[] body) {
    return parse(body, -1);
  }

  /**
   * One JSON request run on a model's own session → the JSON response, without the agent's registry
   * (batch runs use their own sessions); binary outputs asked for come back as JSON.
   */
  public byte[] infer(dev.massedge.inference.model.LoadedModel m, byte[] request) {
    Request req = parse(request, -1);
    Request json = new Request(req.id(), req.inputs(), req.outputs());
    return response(m.name(), m.version(), json, m.session().run(req.inputs())).bytes();
  }

  /**
   * Parses a request; {@code headerLength} ≥ 0 is the binary tensor extension's {@code
   * Inference-Header-Content-Length}: the first {@code headerLength} bytes are the JSON, the rest
   * the inputs' data in order, each input naming its {@code parameters.binary_data_size}
   * (little-endian, row-major).
   */
  Request parse(byte[] body, int headerLength) {
    if (body == null || body.length == 0) {
      throw new InvalidInputException(
          "empty_body", "the request body is empty; expected an inference request in JSON");
    }
    if (headerLength > body.length) {
      throw invalid(
          "Inference-Header-Content-Length is "
              + headerLength
              + " but the body has only "
              + body.length
              + " bytes");
    }
    int jsonLength = headerLength < 0 ? body.length : headerLength;
    int[] cursor = {jsonLength};
    JsonNode root;
    try {
      root = mapper.readTree(body, 0, jsonLength);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new InvalidInputException(
          "invalid_json", "the request body is not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new InvalidInputException("invalid_json", "the request body cannot be read: " + e);
    }
    if (root == null || !root.isObject()) {
      throw invalid("the request must be a JSON object with an 'inputs' array");
    }
    JsonNode inputs = root.get("inputs");
    if (inputs == null || !inputs.isArray() || inputs.isEmpty()) {
      throw invalid("'inputs' must be a non-empty array of tensors");
    }
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    for (JsonNode in : inputs) {
      String name = text(in, "name");
      if (tensors.containsKey(name)) {
        throw invalid("input '" + name + "' appears twice");
      }
      JsonNode size = in.path("parameters").get("binary_data_size");
      tensors.put(
          name, size == null ? tensor(name, in) : binaryTensor(name, in, size, body, cursor));
    }
    if (cursor[0] != body.length) {
      throw invalid(
          (body.length - cursor[0])
              + " bytes of binary data are not claimed by any input's binary_data_size");
    }
    List<String> outputs = new ArrayList<>();
    Set<String> binaryOutputs = new java.util.HashSet<>();
    JsonNode outs = root.get("outputs");
    if (outs != null) {
      if (!outs.isArray()) {
        throw invalid("'outputs' must be an array of {\"name\": ...}");
      }
      outs.forEach(
          o -> {
            outputs.add(text(o, "name"));
            if (o.path("parameters").path("binary_data").asBoolean(false)) {
              binaryOutputs.add(text(o, "name"));
            }
          });
    }
    JsonNode id = root.get("id");
    boolean binaryAll = root.path("parameters").path("binary_data_output").asBoolean(false);
    return new Request(id == null ? null : id.asText(), tensors, outputs, binaryAll, binaryOutputs);
  }

  /** An input whose data follows the JSON as {@code binary_data_size} raw little-endian bytes. */
  private Tensor binaryTensor(String name, JsonNode in, JsonNode size, byte[] body, int[] cursor) {
    DataType type = DataType.parse(text(in, "datatype"));
    long[] shape = shape(name, in);
    if (type == DataType.BYTES) {
      throw invalid("input '" + name + "': BYTES tensors are taken as JSON only");
    }
    if (in.has("data")) {
      throw invalid("input '" + name + "' has both 'data' and parameters.binary_data_size");
    }
    long want = Tensor.elementCount(shape) * type.byteSize();
    if (!size.canConvertToLong() || size.asLong() != want) {
      throw sizeMismatch(
          name, shape, type + " needs " + want + " bytes, binary_data_size says " + size);
    }
    if (cursor[0] + want > body.length) {
      throw new InvalidInputException(
          "size_mismatch",
          "input '"
              + name
              + "': "
              + want
              + " bytes of binary data are missing (the body ends "
              + (cursor[0] + want - body.length)
              + " bytes early)");
    }
    ByteBuffer b = ByteBuffer.allocateDirect((int) want).order(ByteOrder.nativeOrder());
    ByteBuffer src = ByteBuffer.wrap(body, cursor[0], (int) want).order(ByteOrder.LITTLE_ENDIAN);
    cursor[0] += (int) want;
    if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN || type.byteSize() == 1) {
      b.put(src);
    } else {
      throw invalid("binary tensors need a little-endian machine");
    }
    return Tensor.of(type, shape, b.flip());
  }

  private static long[] shape(String name, JsonNode in) {
    JsonNode shapeNode = in.get("shape");
    if (shapeNode == null || !shapeNode.isArray()) {
      throw invalid("input '" + name + "': 'shape' must be an array of dimension sizes");
    }
    long[] shape = new long[shapeNode.size()];
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = shapeNode.get(i);
      if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
        throw invalid("input '" + name + "': shape " + shapeNode + " must hold integers >= 0");
      }
      shape[i] = d.asLong();
    }
    return shape;
  }

  private Tensor tensor(String name, JsonNode in) {
    DataType type = DataType.parse(text(in, "datatype"));
    long[] shape = shape(name, in);
    JsonNode data = in.get("data");
    if (data == null) {
      throw invalid("input '" + name + "': 'data' is missing");
    }
    List<JsonNode> flat = new ArrayList<>();
    flatten(data, flat);
    long n = Tensor.elementCount(shape);
    if (flat.size() != n) {
      throw sizeMismatch(name, shape, "needs " + n + " elements, 'data' has " + flat.size());
    }
    if (type == DataType.BYTES) {
      List<byte[]> strings = new ArrayList<>(flat.size());
      for (JsonNode v : flat) {
        if (!v.isTextual()) {
          throw invalidData(name, type, v);
        }
        strings.add(v.asText().getBytes(StandardCharsets.UTF_8));
      }
      return Tensor.ofStrings(shape, strings);
    }
    ByteBuffer b =
        ByteBuffer.allocateDirect((int) n * type.byteSize()).order(ByteOrder.nativeOrder());
    for (JsonNode v : flat) {
      put(b, type, v, name);
    }
    return Tensor.of(type, shape, b.flip());
  }

  private static void put(ByteBuffer b, DataType type, JsonNode v, String name) {
    switch (type) {
      case BOOL -> {
        if (!v.isBoolean()) {
          throw invalidData(name, type, v);
        }
        b.put((byte) (v.asBoolean() ? 1 : 0));
      }
      case FP32 -> b.putFloat(number(v, name, type).floatValue());
      case FP64 -> b.putDouble(number(v, name, type).doubleValue());
      case FP16 ->
          b.putShort(dev.massedge.inference.Fp16.fromFloat(number(v, name, type).floatValue()));
      case UINT8 -> b.put((byte) integer(v, name, type, 0, 255));
      case INT8 -> b.put((byte) integer(v, name, type, Byte.MIN_VALUE, Byte.MAX_VALUE));
      case INT16 -> b.putShort((short) integer(v, name, type, Short.MIN_VALUE, Short.MAX_VALUE));
      case INT32 -> b.putInt((int) integer(v, name, type, Integer.MIN_VALUE, Integer.MAX_VALUE));
      case INT64 -> b.putLong(integer(v, name, type, Long.MIN_VALUE, Long.MAX_VALUE));
      default -> throw invalidData(name, type, v);
    }
  }

  private static Number number(JsonNode v, String name, DataType type) {
    if (!v.isNumber()) {
      throw invalidData(name, type, v);
    }
    return v.numberValue();
  }

  private static long integer(JsonNode v, String name, DataType type, long min, long max) {
    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
      throw invalidData(name, type, v);
    }
    return v.asLong();
  }

  private static void flatten(JsonNode n, List<JsonNode> out) {
    if (n.isArray()) {
      n.forEach(x -> flatten(x, out));
    } else {
      out.add(n);
    }
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n == null ? null : n.get(field);
    if (v == null || !v.isTextual() || v.asText().isEmpty()) {
      throw invalid("each tensor needs a string '" + field + "'");
    }
    return v.asText();
  }

  private static InvalidInputException sizeMismatch(String name, long[] shape, String what) {
    return new InvalidInputException(
        "size_mismatch", "input '" + name + "': shape " + Arrays.toString(shape) + " " + what);
  }

  private static InvalidInputException invalid(String msg) {
    return new InvalidInputException("invalid_request", msg);
  }

  private static InvalidInputException invalidData(String name, DataType type, JsonNode v) {
    String shown = v.toString();
    return new InvalidInputException(
        "invalid_data",
        "input '"
            + name
            + "': "
            + (shown.length() > 40 ? shown.substring(0, 40) + "…" : shown)
            + " is not a valid "
            + type
            + " value");
  }

  /** Writes the response body; {@code wanted} empty means every output. */
  byte[] response(
      String model, String version, String id, Map<String, Tensor> outputs, List<String> wanted) {
    return response(model, version, new Request(id, Map.of(), wanted), outputs).bytes();
  }

  /**
   * Writes the response to {@code req}: the outputs it asked for as binary data follow the JSON
   * (each with {@code parameters.binary_data_size}), the others are JSON arrays.
   */
  Body response(String model, String version, Request req, Map<String, Tensor> outputs) {
    String id = req.id();
    List<String> wanted = req.outputs();
    Set<String> names = outputs.keySet();
    for (String w : wanted) {
      if (!names.contains(w)) {
        throw new InvalidInputException(
            "unknown_output", "output '" + w + "' is unknown; the model's outputs are " + names);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
    List<byte[]> binary = new ArrayList<>();
    try (JsonGenerator g = mapper.getFactory().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("model_name", model);
      g.writeStringField("model_version", version);
      if (id != null) {
        g.writeStringField("id", id);
      }
      g.writeArrayFieldStart("outputs");
      for (var e : outputs.entrySet()) {
        if (!wanted.isEmpty() && !wanted.contains(e.getKey())) {
          continue;
        }
        Tensor t = e.getValue();
        g.writeStartObject();
        g.writeStringField("name", e.getKey());
        g.writeStringField("datatype", t.type().name());
        g.writeArrayFieldStart("shape");
        for (long d : t.shape()) {
          g.writeNumber(d);
        }
        g.writeEndArray();
        if (req.binary(e.getKey()) && t.type() != DataType.BYTES) {
          ByteBuffer d = t.data().duplicate().order(ByteOrder.nativeOrder());
          byte[] raw = new byte[d.remaining()];
          d.get(raw);
          binary.add(raw);
          g.writeObjectFieldStart("parameters");
          g.writeNumberField("binary_data_size", raw.length);
          g.writeEndObject();
        } else {
          g.writeArrayFieldStart("data");
          writeData(g, t);
          g.writeEndArray();
        }
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    int jsonLength = out.size();
    for (byte[] raw : binary) {
      out.writeBytes(raw);
    }
    return new Body(out.toByteArray(), jsonLength);
  }

  private static void writeData(JsonGenerator g, Tensor t) throws IOException {
    ByteBuffer b = t.data();
    long n = t.elementCount();
    switch (t.type()) {
      case BYTES -> {
        for (byte[] s : t.strings()) {
          g.writeString(new String(s, StandardCharsets.UTF_8));
        }
      }
      case BOOL -> {
        for (int i = 0; i < n; i++) {
          g.writeBoolean(b.get() != 0);
        }
      }
      case FP32 -> {
        for (int i = 0; i < n; i++) {
          g.writeNumber(b.getFloat());
        }
      }
      case FP64 -> {
        for (int i = 0; i < n; i++) {
          g.writeNumber(b.getDouble());
        }
      }
      case FP16 -> {
        for (int i = 0; i < n; i++) {
          g.writeNumber(dev.massedge.inference.Fp16.toFloat(b.getShort()));
        }
      }
      case UINT8 -> {
        for (int i = 0; i < n; i++) {
          g.writeNumber(b.get() & 0xff);
        }
      }
      case INT8 -> {
        for (int i = 0; i < n; i++) {
          g.writeNumber(b.get());
        }
      }
      case INT16 -> {
        for (int i = 0; i < n; i++) {
          g.writeNumber(b.getShort());
        }
      }
      case INT32 -> {
        for (int i = 0; i < n; i++) {
          g.writeNumber(b.getInt());
        }
      }
      case INT64 -> {
        for (int i = 0; i < n; i++) {
          g.writeNumber(b.getLong());
        }
      }
    }
  }
}
