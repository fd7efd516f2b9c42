package dev.massedge.sync.outbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.massedge.sync.testing.TinyDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutboxTest {
  static byte[] msg(long i) {
    return ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8);
  }

  static String text(Outbox.Entry e) {
    return new String(e.data(), StandardCharsets.UTF_8);
  }

  @Test
  void recordsComeOutInOrderUntilAcknowledged(@TempDir Path dir) throws Exception {
    try (Outbox o = new Outbox(dir, 1 << 20, 4096, 1)) {
      for (int i = 0; i < 1000; i++) {
        assertThat(o.append(msg(i))).isEqualTo(i);
      }
      List<Outbox.Entry> first = o.peek(100);
      assertThat(first).hasSize(100);
      for (int i = 0; i < 100; i++) {
        assertThat(first.get(i).seq()).isEqualTo(i);
        assertThat(text(first.get(i))).isEqualTo("{\"n\":" + i + "}");
      }
      o.ack(99);
      assertThat(o.peek(1).get(0).seq()).isEqualTo(100);
      assertThat(o.stats().pending()).isEqualTo(900);
      long segmentsBefore = Files.list(dir).filter(p -> p.toString().endsWith(".log")).count();
      o.ack(899);
      assertThat(Files.list(dir).filter(p -> p.toString().endsWith(".log")).count())
          .isLessThan(segmentsBefore);
      assertThat(text(o.peek(1).get(0))).isEqualTo("{\"n\":900}");
    }
  }

  @Test
  void whatWasNotAcknowledgedSurvivesARestartAndATornRecord(@TempDir Path dir) throws Exception {
    try (Outbox o = new Outbox(dir, 1 << 20, 4096, 1)) {
      for (int i = 0; i < 50; i++) {
        o.append(msg(i));
      }
      o.ack(19);
    }
    // a crash in the middle of a write leaves half a record at the end
    Path last =
        Files.list(dir)
            .filter(p -> p.toString().endsWith(".log"))
            .sorted()
            .reduce((a, b) -> b)
            .orElseThrow();
    Files.write(last, new byte[] {0, 0, 0, 40, 1, 2, 3}, StandardOpenOption.APPEND);
    try (Outbox o = new Outbox(dir, 1 << 20, 4096, 1)) {
      assertThat(o.stats().pending()).isEqualTo(30);
      assertThat(o.peek(1).get(0).seq()).isEqualTo(20);
      assertThat(o.append(msg(50))).isEqualTo(50);
      List<Outbox.Entry> all = o.peek(100);
      assertThat(all).hasSize(31);
      assertThat(text(all.get(30))).isEqualTo("{\"n\":50}");
    }
  }

  @Test
  void overTheQuotaTheOldestGoAndAreCounted(@TempDir Path dir) throws Exception {
    try (Outbox o = new Outbox(dir, 4096, 1024, 1)) {
      for (int i = 0; i < 1000; i++) { // ~18 KB into a 4 KB quota
        o.append(msg(i));
      }
      Outbox.Stats s = o.stats();
      assertThat(s.dropped()).isPositive();
      assertThat(s.pending() + s.dropped()).isEqualTo(1000);
      assertThat(s.bytes()).isLessThanOrEqualTo(4096 + 1024);
      List<Outbox.Entry> left = o.peek(1000);
      assertThat(left.get(0).seq()).isEqualTo(s.dropped()); // the newest are kept, in order
      assertThat(left.get(left.size() - 1).seq()).isEqualTo(999);
    }
    try (Outbox o = new Outbox(dir, 4096, 1024, 1)) {
      assertThat(o.stats().dropped()).isPositive(); // the count survives a restart
    }
  }

  @Test
  void aFullDiskRefusesRecordsWithoutTearingTheOutbox(@TempDir Path tmp) throws Exception {
    try (TinyDisk disk = TinyDisk.mount(tmp.resolve("disk"), 256 * 1024)) {
      Path dir = disk.dir().resolve("outbox");
      List<Long> kept = new ArrayList<>();
      int refused = 0;
      try (Outbox o = new Outbox(dir, 1 << 20, 64 * 1024, 1)) {
        for (int i = 0; i < 20; i++) {
          kept.add(o.append(big(i)));
        }
        disk.fill(); // another program filled the disk
        for (int i = 20; i < 60; i++) {
          try {
            kept.add(o.append(big(i)));
          } catch (IOException full) {
            assertThat(full.getMessage()).contains("No space left");
            refused++;
          }
        }
        disk.free();
        for (int i = 60; i < 80; i++) {
          kept.add(o.append(big(i)));
        }
        assertThat(refused).isPositive();
        assertThat(o.stats().nextSeq()).isEqualTo(kept.size());
      }
      // reopened (as after a restart): every record that was accepted is there, whole and in order
      try (Outbox o = new Outbox(dir, 1 << 20, 64 * 1024, 1)) {
        List<Outbox.Entry> all = o.peek(1000);
        assertThat(all).extracting(Outbox.Entry::seq).containsExactlyElementsOf(kept);
        int last = -1;
        for (Outbox.Entry e : all) {
          int n = ByteBuffer.wrap(e.data()).getInt();
          assertThat(n).isGreaterThan(last);
          assertThat(e.data()).hasSize(3000);
          last = n;
        }
        assertThat(last).isEqualTo(79); // the records after the full disk were not lost
      }
    }
  }

  /** 3,000 bytes starting with {@code i}: a few fit into the last free block of a full disk. */
  private static byte[] big(int i) {
    byte[] b = new byte[3000];
    ByteBuffer.wrap(b).putInt(i);
    return b;
  }

  /** Child process: appends and dies without closing (as a killed agent would). */
  public static void main(String[] args) throws Exception {
    Outbox o = new Outbox(Path.of(args[0]), 1 << 20, 4096, 100);
    for (int i = 0; i < Integer.parseInt(args[1]); i++) {
      o.append(msg(i));
    }
    System.out.println("appended");
    System.out.flush();
    Runtime.getRuntime().halt(9);
  }

  @Test
  void aKilledProducerLosesNothingItAppended(@TempDir Path dir) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, OutboxTest.class.getName(), dir.toString(), "250");
    pb.environment().put("CLASSPATH", System.getProperty("java.class.path"));
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(out).contains("appended");
    assertThat(p.exitValue()).isEqualTo(9);
    try (Outbox o = new Outbox(dir, 1 << 20, 4096, 1)) {
      List<Outbox.Entry> all = o.peek(1000);
      assertThat(all).hasSize(250);
      assertThat(text(all.get(249))).isEqualTo("{\"n\":249}");
    }
  }
}
