package dev.massedge.sync.pkg;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Content-defined chunking, FastCDC style (Xia et al. 2016): a gear rolling hash over the bytes, a
 * boundary where the hash's masked bits are zero, a stricter mask before the average size and a
 * looser one after ("normalized chunking"), and hard minimum and maximum sizes. An insertion or a
 * change moves only the boundaries near it, so two versions of a model share every chunk outside
 * the changed region.
 */
public final class FastCdc {
  public static final int MIN = 2 * 1024;
  public static final int AVG = 8 * 1024;
  public static final int MAX = 64 * 1024;
  private static final long MASK_S = mask(15); // stricter: fewer boundaries before AVG
  private static final long MASK_L = mask(11); // looser: more boundaries after AVG
  private static final long[] GEAR = new long[256];

  static {
    SplittableRandom r = new SplittableRandom(0x6d617373L); // fixed: boundaries must never change
    for (int i = 0; i < 256; i++) {
      GEAR[i] = r.nextLong();
    }
  }

  /** A chunk: where it starts, how long it is, its SHA-256. */
  public record Chunk(long offset, int length, String sha256) {}

  private FastCdc() {}

  private static long mask(int bits) {
    // spread the bits over the high half of the word, as FastCDC does
    long m = 0;
    for (int i = 0; i < bits; i++) {
      m |= 1L << (63 - i * 2);
    }
    return m;
  }

  public static List<Chunk> chunks(byte[] data) {
    List<Chunk> out = new ArrayList<>();
    int start = 0;
    while (start < data.length) {
      int len = cut(data, start, data.length - start);
      out.add(new Chunk(start, len, Hashes.sha256(data, start, len)));
      start += len;
    }
    return out;
  }

  /** The length of the chunk that starts at {@code start}. */
  static int cut(byte[] d, int start, int remaining) {
    if (remaining <= MIN) {
      return remaining;
    }
    int n = Math.min(remaining, MAX);
    int normal = Math.min(n, AVG);
    long h = 0;
    int i = MIN;
    for (; i < normal; i++) {
      h = (h << 1) + GEAR[d[start + i] & 0xff];
      if ((h & MASK_S) == 0) {
        return i + 1;
      }
    }
    for (; i < n; i++) {
      h = (h << 1) + GEAR[d[start + i] & 0xff];
      if ((h & MASK_L) == 0) {
        return i + 1;
      }
    }
    return n;
  }
}
