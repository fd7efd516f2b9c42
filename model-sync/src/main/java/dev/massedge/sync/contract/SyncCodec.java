package dev.massedge.sync.contract;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;

/**
 * Reads and writes contract messages. Parsing is defensive: a size limit, a schema check, required
 * fields, and every failure a {@link MessageRejectedException} with a stable code — never another
 * exception, whatever the bytes (see the fuzz test).
 */
public final class SyncCodec {
  public static final int SCHEMA = 1;
  public static final int MAX_BYTES = 256 * 1024;

  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .disable(
              DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES) // newer senders may add fields
          .build();

  private SyncCodec() {}

  public static byte[] write(SyncMessage m) {
    try {
      return JSON.writeValueAsBytes(m);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  public static <T extends SyncMessage> T read(byte[] payload, Class<T> type) {
    if (payload == null || payload.length == 0) {
      throw new MessageRejectedException(
          "empty_payload", type.getSimpleName() + ": the payload is empty");
    }
    if (payload.length > MAX_BYTES) {
      throw new MessageRejectedException(
          "too_large",
          type.getSimpleName() + ": " + payload.length + " bytes, the limit is " + MAX_BYTES);
    }
    JsonNode tree;
    try {
      tree = JSON.readTree(payload);
    } catch (IOException | RuntimeException e) {
      throw new MessageRejectedException(
          "invalid_json", type.getSimpleName() + ": not JSON: " + firstLine(e.getMessage()));
    }
    if (tree == null || !tree.isObject()) {
      throw new MessageRejectedException(
          "invalid_json", type.getSimpleName() + ": expected a JSON object");
    }
    JsonNode schema = tree.get("schema");
    if (schema == null || !schema.isInt()) {
      throw new MessageRejectedException(
          "schema_missing", type.getSimpleName() + ": no integer 'schema' field");
    }
    if (schema.asInt() != SCHEMA) {
      throw new MessageRejectedException(
          "schema_unknown",
          type.getSimpleName()
              + ": schema "
              + schema.asInt()
              + " is not known here (this side speaks "
              + SCHEMA
              + ")");
    }
    try {
      T m = JSON.treeToValue(tree, type);
      if (m == null) {
        throw new MessageRejectedException(
            "invalid_json", type.getSimpleName() + ": empty message");
      }
      return m;
    } catch (IOException | RuntimeException e) {
      if (e instanceof MessageRejectedException r) {
        throw r;
      }
      throw new MessageRejectedException(
          "invalid_message", type.getSimpleName() + ": " + firstLine(e.getMessage()));
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "unreadable";
    }
    int nl = s.indexOf('\n');
    String line = nl < 0 ? s : s.substring(0, nl);
    return line.length() > 200 ? line.substring(0, 200) + "…" : line;
  }
}
