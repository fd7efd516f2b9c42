package dev.massedge.inference.onnx.model;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A protobuf message kept as its ordered list of fields, so that whatever this project does not
 * model (doc strings, metadata, training info, fields of future ONNX versions) survives a read and
 * a write untouched. Nested messages are parsed when asked for and written back as they are unless
 * replaced.
 */
public final class ProtoMessage {
  static final int VARINT = 0;
  static final int FIXED64 = 1;
  static final int BYTES = 2;
  static final int FIXED32 = 5;

  /** One field occurrence: a number, a wire type, and a long (varint/fixed) or bytes value. */
  record Field(int number, int wireType, long number64, byte[] bytes) {}

  private final List<Field> fields;

  public ProtoMessage() {
    this.fields = new ArrayList<>();
  }

  private ProtoMessage(List<Field> fields) {
    this.fields = fields;
  }

  /**
   * Parses wire-format bytes; a truncated or malformed message gives an {@link
   * OnnxFormatException}.
   */
  public static ProtoMessage parse(byte[] b) {
    return parse(b, 0, b.length);
  }

  static ProtoMessage parse(byte[] b, int from, int to) {
    List<Field> out = new ArrayList<>();
    int[] pos = {from};
    while (pos[0] < to) {
      long key = readVarint(b, pos, to);
      int number = (int) (key >>> 3);
      int type = (int) (key & 7);
      if (number <= 0) {
        throw new OnnxFormatException("invalid field number " + number + " at byte " + pos[0]);
      }
      switch (type) {
        case VARINT -> out.add(new Field(number, type, readVarint(b, pos, to), null));
        case FIXED64 -> {
          need(b, pos[0], 8, to);
          long v = 0;
          for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (b[pos[0] + i] & 0xff);
          }
          pos[0] += 8;
          out.add(new Field(number, type, v, null));
        }
        case FIXED32 -> {
          need(b, pos[0], 4, to);
          long v = 0;
          for (int i = 3; i >= 0; i--) {
            v = (v << 8) | (b[pos[0] + i] & 0xff);
          }
          pos[0] += 4;
          out.add(new Field(number, type, v, null));
        }
        case BYTES -> {
          long len = readVarint(b, pos, to);
          if (len < 0 || len > to - pos[0]) {
            throw new OnnxFormatException(
                "field "
                    + number
                    + " claims "
                    + len
                    + " bytes but only "
                    + (to - pos[0])
                    + " remain (truncated file?)");
          }
          byte[] v = new byte[(int) len];
          System.arraycopy(b, pos[0], v, 0, (int) len);
          pos[0] += (int) len;
          out.add(new Field(number, type, 0, v));
        }
        default ->
            throw new OnnxFormatException(
                "unsupported wire type "
                    + type
                    + " for field "
                    + number
                    + " (not a protobuf message?)");
      }
    }
    return new ProtoMessage(out);
  }

  private static void need(byte[] b, int pos, int n, int to) {
    if (pos + n > to) {
      throw new OnnxFormatException("message ends inside a fixed-size field (truncated file?)");
    }
  }

  private static long readVarint(byte[] b, int[] pos, int to) {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos[0] >= to) {
        throw new OnnxFormatException("message ends inside a varint (truncated file?)");
      }
      byte x = b[pos[0]++];
      v |= (long) (x & 0x7f) << shift;
      if ((x & 0x80) == 0) {
        return v;
      }
    }
    throw new OnnxFormatException("varint longer than 10 bytes");
  }

  public byte[] toByteArray() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Field f : fields) {
      writeVarint(out, ((long) f.number() << 3) | f.wireType());
      switch (f.wireType()) {
        case VARINT -> writeVarint(out, f.number64());
        case FIXED64 -> {
          for (int i = 0; i < 8; i++) {
            out.write((int) (f.number64() >>> (8 * i)));
          }
        }
        case FIXED32 -> {
          for (int i = 0; i < 4; i++) {
            out.write((int) (f.number64() >>> (8 * i)));
          }
        }
        default -> {
          writeVarint(out, f.bytes().length);
          out.writeBytes(f.bytes());
        }
      }
    }
    return out.toByteArray();
  }

  private static void writeVarint(ByteArrayOutputStream out, long v) {
    while ((v & ~0x7fL) != 0) {
      out.write((int) ((v & 0x7f) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
  }

  // ---- reading ----

  public boolean has(int number) {
    return fields.stream().anyMatch(f -> f.number() == number);
  }

  public long getLong(int number, long dflt) {
    long v = dflt;
    for (Field f : fields) {
      if (f.number() == number && f.wireType() != BYTES) {
        v = f.number64();
      }
    }
    return v;
  }

  public float getFloat(int number, float dflt) {
    long v = getLong(number, Float.floatToRawIntBits(dflt) & 0xffffffffL);
    return Float.intBitsToFloat((int) v);
  }

  public String getString(int number) {
    byte[] b = getBytes(number);
    return b == null ? "" : new String(b, StandardCharsets.UTF_8);
  }

  public byte[] getBytes(int number) {
    byte[] v = null;
    for (Field f : fields) {
      if (f.number() == number && f.wireType() == BYTES) {
        v = f.bytes();
      }
    }
    return v;
  }

  public ProtoMessage getMessage(int number) {
    byte[] b = getBytes(number);
    return b == null ? null : parse(b);
  }

  public List<ProtoMessage> getMessages(int number) {
    List<ProtoMessage> out = new ArrayList<>();
    for (Field f : fields) {
      if (f.number() == number && f.wireType() == BYTES) {
        out.add(parse(f.bytes()));
      }
    }
    return out;
  }

  public List<String> getStrings(int number) {
    List<String> out = new ArrayList<>();
    for (Field f : fields) {
      if (f.number() == number && f.wireType() == BYTES) {
        out.add(new String(f.bytes(), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  /** Repeated varint field, packed or not. */
  public long[] getLongs(int number) {
    List<Long> out = new ArrayList<>();
    for (Field f : fields) {
      if (f.number() != number) {
        continue;
      }
      if (f.wireType() == BYTES) {
        int[] pos = {0};
        while (pos[0] < f.bytes().length) {
          out.add(readVarint(f.bytes(), pos, f.bytes().length));
        }
      } else {
        out.add(f.number64());
      }
    }
    return out.stream().mapToLong(Long::longValue).toArray();
  }

  /** Repeated 32-bit float field, packed or not. */
  public float[] getFloats(int number) {
    List<Float> out = new ArrayList<>();
    for (Field f : fields) {
      if (f.number() != number) {
        continue;
      }
      if (f.wireType() == BYTES) {
        byte[] b = f.bytes();
        for (int i = 0; i + 4 <= b.length; i += 4) {
          int bits =
              (b[i] & 0xff)
                  | (b[i + 1] & 0xff) << 8
                  | (b[i + 2] & 0xff) << 16
                  | (b[i + 3] & 0xff) << 24;
          out.add(Float.intBitsToFloat(bits));
        }
      } else {
        out.add(Float.intBitsToFloat((int) f.number64()));
      }
    }
    float[] r = new float[out.size()];
    for (int i = 0; i < r.length; i++) {
      r[i] = out.get(i);
    }
    return r;
  }

  // ---- writing ----

  /** Removes every occurrence of a field. */
  public ProtoMessage clear(int number) {
    fields.removeIf(f -> f.number() == number);
    return this;
  }

  public ProtoMessage setLong(int number, long v) {
    return replace(number, new Field(number, VARINT, v, null));
  }

  public ProtoMessage setString(int number, String v) {
    return setBytes(number, v.getBytes(StandardCharsets.UTF_8));
  }

  public ProtoMessage setBytes(int number, byte[] v) {
    return replace(number, new Field(number, BYTES, 0, v));
  }

  public ProtoMessage setMessage(int number, ProtoMessage m) {
    return setBytes(number, m.toByteArray());
  }

  public ProtoMessage setFloat(int number, float v) {
    return replace(
        number, new Field(number, FIXED32, Float.floatToRawIntBits(v) & 0xffffffffL, null));
  }

  public ProtoMessage addLong(int number, long v) {
    fields.add(new Field(number, VARINT, v, null));
    return this;
  }

  public ProtoMessage addString(int number, String v) {
    fields.add(new Field(number, BYTES, 0, v.getBytes(StandardCharsets.UTF_8)));
    return this;
  }

  public ProtoMessage addMessage(int number, ProtoMessage m) {
    fields.add(new Field(number, BYTES, 0, m.toByteArray()));
    return this;
  }

  /**
   * Replaces the repeated message field with these messages, at the place of its first occurrence.
   */
  public ProtoMessage setMessages(int number, List<ProtoMessage> ms) {
    return replaceRepeated(number, ms.stream().map(ProtoMessage::toByteArray).toList());
  }

  /** Replaces the repeated string field, at the place of its first occurrence. */
  public ProtoMessage setStrings(int number, List<String> values) {
    return replaceRepeated(
        number, values.stream().map(v -> v.getBytes(StandardCharsets.UTF_8)).toList());
  }

  /**
   * Puts length-delimited values where the field first occurred (or at the end), dropping the old.
   */
  private ProtoMessage replaceRepeated(int number, List<byte[]> values) {
    int at = fields.size();
    for (int i = 0; i < fields.size(); i++) {
      if (fields.get(i).number() == number) {
        at = i;
        break;
      }
    }
    clear(number);
    List<Field> add = new ArrayList<>();
    for (byte[] v : values) {
      add.add(new Field(number, BYTES, 0, v));
    }
    fields.addAll(Math.min(at, fields.size()), add);
    return this;
  }

  private ProtoMessage replace(int number, Field f) {
    for (int i = 0; i < fields.size(); i++) {
      if (fields.get(i).number() == number) {
        fields.set(i, f);
        final int keep = i;
        List<Field> rest = new ArrayList<>();
        for (int j = 0; j < fields.size(); j++) {
          if (j == keep || fields.get(j).number() != number) {
            rest.add(fields.get(j));
          }
        }
        fields.clear();
        fields.addAll(rest);
        return this;
      }
    }
    fields.add(f);
    return this;
  }

  public ProtoMessage copy() {
    return new ProtoMessage(new ArrayList<>(fields));
  }
}
