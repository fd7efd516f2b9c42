package dev.massedge.sync.outbox;

import dev.massedge.sync.io.Durable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * A disk-backed, bounded, ordered outbox: what the device promised to send survives a lost link, a
 * broker restart and a killed agent. Records are appended to segment files ({@code seg-<first
 * seq>.log}: length, CRC-32, bytes); a sender {@link #peek}s the oldest unacknowledged records and
 * {@link #ack}s them once the broker has them; fully acknowledged segments are deleted. Over the
 * quota the oldest segment is dropped and its records counted as dropped.
 *
 * <p>Durability: {@code fsyncEvery = 1} forces every append to disk before it returns (nothing
 * acknowledged to the producer is lost on power loss); {@code n > 1} forces every n-th append and
 * on close (a crash loses at most n-1 records, a killed process none: the OS keeps the page cache).
 * On open a torn last record (a crash mid-write) is cut off.
 */
public final class Outbox implements AutoCloseable {
  private static final int HEADER = 8;
  private final Path dir;
  private final long maxBytes;
  private final long segmentBytes;
  private final int fsyncEvery;
  private final TreeMap<Long, Path> segments = new TreeMap<>(); // first seq -> file
  private FileChannel tail;
  private long tailFirst;
  private long nextSeq;
  private long acked; // every seq < acked is acknowledged
  private long dropped;
  private long unsynced;
  private long bytes;
  // where the last peek stopped skipping: segment, sequence number, byte position
  private Long cursorSegment;
  private long cursorSeq;
  private long cursorPos;

  public record Entry(long seq, byte[] data) {}

  public record Stats(long pending, long dropped, long bytes, long nextSeq) {}

  public Outbox(Path dir, long maxBytes, long segmentBytes, int fsyncEvery) throws IOException {
    if (maxBytes < segmentBytes * 2) {
      throw new IllegalArgumentException("the outbox quota must hold at least two segments");
    }
    this.dir = Files.createDirectories(dir);
    this.maxBytes = maxBytes;
    this.segmentBytes = segmentBytes;
    this.fsyncEvery = Math.max(1, fsyncEvery);
    Path cursor = dir.resolve("acked");
    if (Files.isRegularFile(cursor)) {
      acked = Long.parseLong(Files.readString(cursor).trim());
    }
    Path dropFile = dir.resolve("dropped");
    if (Files.isRegularFile(dropFile)) {
      dropped = Long.parseLong(Files.readString(dropFile).trim());
    }
    try (Stream<Path> s = Files.list(dir)) {
      s.filter(p -> p.getFileName().toString().matches("seg-\\d+\\.log"))
          .forEach(
              p ->
                  segments.put(
                      Long.parseLong(p.getFileName().toString().replaceAll("\\D", "")), p));
    }
    nextSeq = acked;
    for (var e : segments.entrySet()) {
      long n = recover(e.getValue());
      nextSeq = Math.max(nextSeq, e.getKey() + n);
      bytes += Files.size(e.getValue());
    }
  }

  /** Counts a segment's valid records, cutting off a torn or corrupt tail. */
  private static long recover(Path seg) throws IOException {
    try (FileChannel ch =
        FileChannel.open(seg, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long pos = 0;
      long n = 0;
      ByteBuffer head = ByteBuffer.allocate(HEADER);
      while (true) {
        head.clear();
        if (ch.read(head, pos) < HEADER) {
          break;
        }
        int len = head.getInt(0);
        int crc = head.getInt(4);
        if (len < 0 || pos + HEADER + len > ch.size()) {
          break;
        }
        ByteBuffer body = ByteBuffer.allocate(len);
        ch.read(body, pos + HEADER);
        if (crc(body.array()) != crc) {
          break;
        }
        pos += HEADER + len;
        n++;
      }
      if (pos < ch.size()) {
        ch.truncate(pos);
        ch.force(true);
      }
      return n;
    }
  }

  private static int crc(byte[] b) {
    CRC32 c = new CRC32();
    c.update(b);
    return (int) c.getValue();
  }

  /**
   * Appends a record; returns its sequence number. When the disk is full (or the write fails
   * otherwise) it throws and the outbox stays as it was: the part of the record that was written is
   * cut off again, so later records are not lost behind a torn one; the caller counts the record.
   */
  public synchronized long append(byte[] data) throws IOException {
    if (tail == null || tail.size() >= segmentBytes) {
      roll();
    }
    ByteBuffer b = ByteBuffer.allocate(HEADER + data.length);
    b.putInt(data.length).putInt(crc(data)).put(data).flip();
    long before = tail.size();
    try {
      while (b.hasRemaining()) {
        tail.write(b);
      }
      if (++unsynced >= fsyncEvery) {
        tail.force(false);
        unsynced = 0;
      }
    } catch (IOException e) {
      try {
        tail.truncate(before);
      } catch (IOException cut) {
        e.addSuppressed(cut);
      }
      throw e;
    }
    bytes += HEADER + data.length;
    long seq = nextSeq++;
    while (bytes > maxBytes && segments.size() > 1) {
      dropOldest();
    }
    return seq;
  }

  private void roll() throws IOException {
    if (tail != null) {
      FileChannel last = tail;
      tail = null; // a failed roll (a full disk) is tried again on the next append
      last.force(false);
      last.close();
    }
    tailFirst = nextSeq;
    Path p = dir.resolve("seg-" + String.format("%020d", tailFirst) + ".log");
    tail =
        FileChannel.open(
            p, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    segments.put(tailFirst, p);
    Durable.syncDirectory(dir);
  }

  private void dropOldest() throws IOException {
    var first = segments.firstEntry();
    Long next = segments.higherKey(first.getKey());
    long end = next == null ? nextSeq : next;
    long lost = Math.max(0, end - Math.max(acked, first.getKey()));
    dropped += lost;
    bytes -= Files.size(first.getValue());
    Files.deleteIfExists(first.getValue());
    segments.remove(first.getKey());
    acked = Math.max(acked, end);
    writeAtomically("acked", Long.toString(acked));
    writeAtomically("dropped", Long.toString(dropped));
  }

  /** The oldest unacknowledged records, at most {@code max}, in order. */
  public synchronized List<Entry> peek(int max) throws IOException {
    return peekFrom(0, max);
  }

  /** The oldest unacknowledged records from sequence number {@code from} on, at most max. */
  public synchronized List<Entry> peekFrom(long from, int max) throws IOException {
    List<Entry> out = new ArrayList<>();
    long start = Math.max(from, acked);
    // written bytes are readable without a sync: the fsync policy is append's alone
    for (var e : segments.entrySet()) {
      Long next = segments.higherKey(e.getKey());
      if (next != null && next <= start) {
        continue;
      }
      try (FileChannel ch = FileChannel.open(e.getValue(), StandardOpenOption.READ)) {
        long pos = 0;
        long seq = e.getKey();
        if (e.getKey().equals(cursorSegment) && cursorSeq <= start) {
          pos =
              cursorPos; // skip what an earlier peek already walked, instead of every header again
          seq = cursorSeq;
        }
        ByteBuffer head = ByteBuffer.allocate(HEADER);
        while (out.size() < max) {
          head.clear();
          if (ch.read(head, pos) < HEADER) {
            break;
          }
          int len = head.getInt(0);
          if (seq >= start) {
            ByteBuffer body = ByteBuffer.allocate(len);
            ch.read(body, pos + HEADER);
            out.add(new Entry(seq, body.array()));
          } else {
            cursorSegment = e.getKey();
            cursorSeq = seq + 1;
            cursorPos = pos + HEADER + len;
          }
          pos += HEADER + len;
          seq++;
        }
      }
      if (out.size() >= max) {
        break;
      }
    }
    return out;
  }

  /** Everything up to and including {@code seq} reached the broker. */
  public synchronized void ack(long seq) throws IOException {
    if (seq < acked) {
      return;
    }
    acked = seq + 1;
    writeAtomically("acked", Long.toString(acked));
    while (segments.size() > 1) {
      var first = segments.firstEntry();
      Long next = segments.higherKey(first.getKey());
      if (next == null || next > acked) {
        break;
      }
      bytes -= Files.size(first.getValue());
      Files.deleteIfExists(first.getValue());
      segments.remove(first.getKey());
    }
  }

  /** Every record before this sequence number is acknowledged. */
  public synchronized long ackedUpTo() {
    return acked;
  }

  public synchronized Stats stats() {
    return new Stats(nextSeq - acked, dropped, bytes, nextSeq);
  }

  /** Replaces a cursor file atomically; the rename is not synced: a lost cursor only resends. */
  private void writeAtomically(String name, String value) throws IOException {
    Path tmp = dir.resolve(name + ".tmp");
    Durable.writeSynced(tmp, value.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    Files.move(
        tmp,
        dir.resolve(name),
        StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  @Override
  public synchronized void close() throws IOException {
    if (tail != null) {
      tail.force(false);
      tail.close();
      tail = null;
    }
  }
}
