package dev.massedge.sync.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ContractTest {
  static final List<SyncMessage> SAMPLES =
      List.of(
          new SyncMessage.Status(
              1, true, "0.1.0", "aarch64", "cuda", Map.of("face-short", "3"), 1_795_000_000_000L),
          new SyncMessage.TwinDesired(
              1,
              7,
              Map.of("door", new SyncMessage.ModelRef("face-short", "3", "ab".repeat(32))),
              Map.of("fps", 10)),
          new SyncMessage.TwinReported(
              1,
              7,
              Map.of("door", new SyncMessage.ModelState("2", "3", "verifying", null)),
              Map.of("pipelines", Map.of("door", Map.of("enabled", true))),
              1_795_000_000_000L),
          new SyncMessage.TelemetryBatch(
              1,
              42,
              List.of(
                  new SyncMessage.Metric(
                      "latency_p95_ms", Map.of("model", "face-short"), 2.5, 1L))),
          new SyncMessage.ChunkRequest(1, "cd".repeat(32), 0, 3, 17),
          new SyncMessage.TelemetryAck(1, 4242),
          new SyncMessage.Command(1, "restart_pipeline", Map.of("pipeline", "door")),
          new SyncMessage.CommandResult(1, false, "unknown_pipeline", "no pipeline 'x'", Map.of()));

  @Test
  void topicsCarryTheDeviceAndParseBack() {
    assertThat(Topics.twinDesired("cam-7")).isEqualTo("mass/v1/cam-7/twin/desired");
    assertThat(Topics.parse("mass/v1/cam-7/twin/reported"))
        .isEqualTo(new Topics.DeviceTopic("cam-7", Topics.Kind.TWIN_REPORTED, null));
    assertThat(Topics.parse("mass/v1/cam-7/commands/reboot/response").kind())
        .isEqualTo(Topics.Kind.COMMAND_RESPONSE);
    assertThat(Topics.CHUNK_REQUESTS_SHARED).isEqualTo("$share/bridges/mass/v1/+/chunks/request");
    assertThat(Topics.parse(Topics.chunkRequests("cam-7")))
        .isEqualTo(new Topics.DeviceTopic("cam-7", Topics.Kind.CHUNK_REQUEST, null));
    assertThat(Topics.parse(Topics.inferReply("cam-7", "bridge-a")))
        .isEqualTo(new Topics.DeviceTopic("cam-7", Topics.Kind.INFER_REPLY, "bridge-a"));
    assertThat(Topics.inferReplies("bridge-a")).isEqualTo("mass/v1/+/infer-reply/bridge-a");
    assertThatThrownBy(() -> Topics.inferReply("cam-7", "a/#"))
        .extracting(e -> ((MessageRejectedException) e).code())
        .isEqualTo("invalid_caller");
    assertThatThrownBy(() -> Topics.twinDesired("a/b"))
        .extracting(e -> ((MessageRejectedException) e).code())
        .isEqualTo("invalid_device_id");
    assertThatThrownBy(() -> Topics.parse("mass/v1/cam-7/secrets"))
        .extracting(e -> ((MessageRejectedException) e).code())
        .isEqualTo("unknown_topic");
    assertThatThrownBy(() -> Topics.parse("mass/v1/+/status"))
        .extracting(e -> ((MessageRejectedException) e).code())
        .isEqualTo("unknown_topic");
  }

  @Test
  void everyMessageRoundTrips() {
    for (SyncMessage m : SAMPLES) {
      assertThat(SyncCodec.read(SyncCodec.write(m), m.getClass())).isEqualTo(m);
    }
  }

  @Test
  void badMessagesGetClearErrors() {
    assertThatThrownBy(() -> SyncCodec.read(new byte[0], SyncMessage.Status.class))
        .extracting(e -> ((MessageRejectedException) e).code())
        .isEqualTo("empty_payload");
    assertThatThrownBy(() -> SyncCodec.read("{\"schema\": 2}".getBytes(), SyncMessage.Status.class))
        .hasMessageContaining("schema 2")
        .extracting(e -> ((MessageRejectedException) e).code())
        .isEqualTo("schema_unknown");
    assertThatThrownBy(
            () -> SyncCodec.read("{\"online\": true}".getBytes(), SyncMessage.Status.class))
        .extracting(e -> ((MessageRejectedException) e).code())
        .isEqualTo("schema_missing");
    assertThatThrownBy(
            () ->
                SyncCodec.read(
                    "{\"schema\":1,\"version\":\"x\"}".getBytes(), SyncMessage.TwinDesired.class))
        .extracting(e -> ((MessageRejectedException) e).code())
        .isEqualTo("invalid_message");
    assertThatThrownBy(
            () -> SyncCodec.read(new byte[SyncCodec.MAX_BYTES + 1], SyncMessage.Status.class))
        .extracting(e -> ((MessageRejectedException) e).code())
        .isEqualTo("too_large");
    assertThatThrownBy(
            () -> SyncCodec.read("{\"schema\":1} trailing".getBytes(), SyncMessage.Status.class))
        .extracting(e -> ((MessageRejectedException) e).code())
        .isEqualTo("invalid_json");
  }

  /**
   * A seeded mutator over every inbound message type: bytes flipped, inserted, deleted, cut. Each
   * parse gives a message or a MessageRejectedException: nothing else escapes, nothing hangs.
   */
  @Test
  void mutatedMessagesNeverEscapeAsAnythingButARejection() {
    SplittableRandom r = new SplittableRandom(2026);
    int parsed = 0;
    int rejected = 0;
    for (SyncMessage m : SAMPLES) {
      byte[] seed = SyncCodec.write(m);
      for (int i = 0; i < 3000; i++) {
        byte[] b = mutate(seed, r);
        try {
          SyncCodec.read(b, m.getClass());
          parsed++;
        } catch (MessageRejectedException e) {
          assertThat(e.code()).isNotBlank();
          assertThat(e.getMessage()).isNotBlank();
          rejected++;
        }
      }
    }
    assertThat(rejected).isGreaterThan(10_000);
    assertThat(parsed + rejected).isEqualTo(SAMPLES.size() * 3000);
  }

  /** Bytes that matter to a JSON parser, to hit its edge cases more often than random bytes do. */
  static final byte[] JSON_BYTES =
      "{}[]\",:0123456789eE.+-tfnul\\".getBytes(StandardCharsets.US_ASCII);

  static byte[] mutate(byte[] seed, SplittableRandom r) {
    byte[] b = seed.clone();
    int edits = 1 + r.nextInt(4);
    for (int e = 0; e < edits && b.length > 0; e++) {
      int at = r.nextInt(b.length);
      switch (r.nextInt(5)) {
        case 0 -> b[at] = (byte) r.nextInt(256);
        case 1 -> b[at] = JSON_BYTES[r.nextInt(JSON_BYTES.length)];
        case 2 -> {
          byte[] c = new byte[b.length + 1];
          System.arraycopy(b, 0, c, 0, at);
          c[at] = (byte) r.nextInt(256);
          System.arraycopy(b, at, c, at + 1, b.length - at);
          b = c;
        }
        case 3 -> {
          byte[] c = new byte[b.length - 1];
          System.arraycopy(b, 0, c, 0, at);
          System.arraycopy(b, at + 1, c, at, b.length - at - 1);
          b = c;
        }
        default -> b = java.util.Arrays.copyOf(b, at);
      }
    }
    return b;
  }
}
