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
final class OipCodec {
  private final ObjectMapper mapper;

  OipCodec(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  record Request(String id, Map<String, Tensor> inputs, List<String> outputs) {}

  Request parse(byte[] body) {
    if (body == null || body.length == 0) {
      throw new InvalidInputException(
          "empty_body", "the request body is empty; expected an inference request in JSON");
    }
    JsonNode root;
    try {
      root = mapper.readTree(body);
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
      tensors.put(name, tensor(name, in));
    }
    List<String> outputs = new ArrayList<>();
    JsonNode outs = root.get("outputs");
    if (outs != null) {
      if (!outs.isArray()) {
        throw invalid("'outputs' must be an array of {\"name\": ...}");
      }
      outs.forEach(o -> outputs.add(text(o, "name")));
    }
    JsonNode id = root.get("id");
    return new Request(id == null ? null : id.asText(), tensors, outputs);
  }

  private Tensor tensor(String name, JsonNode in) {
    DataType type = DataType.parse(text(in, "datatype"));
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
    JsonNode data = in.get("data");
    if (data == null) {
      throw invalid("input '" + name + "': 'data' is missing");
    }
    List<JsonNode> flat = new ArrayList<>();
    flatten(data, flat);
    long n = Tensor.elementCount(shape);
    if (flat.size() != n) {
      throw new InvalidInputException(
          "size_mismatch",
          "input '"
              + name
              + "': shape "
              + Arrays.toString(shape)
              + " needs "
              + n
              + " elements, 'data' has "
              + flat.size());
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
    Set<String> names = outputs.keySet();
    for (String w : wanted) {
      if (!names.contains(w)) {
        throw new InvalidInputException(
            "unknown_output", "output '" + w + "' is unknown; the model's outputs are " + names);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
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
        g.writeArrayFieldStart("data");
        writeData(g, t);
        g.writeEndArray();
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
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
