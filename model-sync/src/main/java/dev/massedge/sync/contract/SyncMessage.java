package dev.massedge.sync.contract;

import java.util.List;
import java.util.Map;

/**
 * The JSON messages of the contract, schema version 1. Every message carries {@code schema}; a
 * receiver refuses versions it does not know. Both the agent and the bridge use these types.
 */
public sealed interface SyncMessage {
  int schema();

  /** Birth (online, retained) and will (offline). */
  record Status(
      int schema,
      boolean online,
      String agentVersion,
      String arch,
      String accelerator,
      Map<String, String> models,
      long epochMillis)
      implements SyncMessage {}

  /** A model a device should run: name, version and the SHA-256 of its signed manifest. */
  record ModelRef(String name, String version, String manifestSha256) {}

  /** What the cloud wants the device to be (retained). {@code version} only grows. */
  record TwinDesired(
      int schema, long version, Map<String, ModelRef> models, Map<String, Object> config)
      implements SyncMessage {}

  /** Per model: the version active, the state of a change under way, and why it failed. */
  record ModelState(String active, String pending, String state, String error) {}

  /**
   * What the device is (retained), for the twin version it has seen: each model slot's state, and
   * the configuration it applied from the twin (per key: the value in force, or why not).
   */
  record TwinReported(
      int schema,
      long desiredVersion,
      Map<String, ModelState> models,
      Map<String, Object> config,
      long epochMillis)
      implements SyncMessage {}

  /** One measurement. */
  record Metric(String name, Map<String, String> tags, double value, long epochMillis) {}

  /** A batch from the outbox: {@code seq} grows by one per batch, so gaps and repeats show. */
  record TelemetryBatch(int schema, long seq, List<Metric> metrics) implements SyncMessage {}

  /**
   * The cloud stored every outbox record of a device up to and including {@code seq}: the device
   * may forget them. Until then it keeps them and sends them again after a reconnection.
   */
  record TelemetryAck(int schema, long seq) implements SyncMessage {}

  /**
   * A device asks for the chunks {@code [from, to)} of file number {@code file} of a signed
   * package, or, with {@code file = -1}, for the signed manifest itself. The answer goes to the
   * request's MQTT 5 response topic: the chunks' bytes back to back (the device knows their sizes
   * from the manifest and checks each hash), or an error in the user properties.
   */
  record ChunkRequest(int schema, String manifestSha256, int file, int from, int to)
      implements SyncMessage {
    public static final int MANIFEST = -1;
  }

  /** A command to a device (request/response with response topic and correlation data). */
  record Command(int schema, String name, Map<String, Object> args) implements SyncMessage {}

  /** The answer to a command: ok, or a stable error code and message. */
  record CommandResult(
      int schema, boolean ok, String code, String message, Map<String, Object> data)
      implements SyncMessage {}
}
