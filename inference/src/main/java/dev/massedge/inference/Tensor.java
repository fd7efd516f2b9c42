package dev.massedge.inference;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * An immutable-by-convention tensor: a data type, a shape and its elements. Numeric elements live
 * in a native-order {@link ByteBuffer} (direct buffers pass to engines without a copy); {@link
 * DataType#BYTES} elements live in {@link #strings()}.
 */
public final class Tensor {
  private final DataType type;
  private final long[] shape;
  private final ByteBuffer data;
  private final List<byte[]> strings;

  private Tensor(DataType type, long[] shape, ByteBuffer data, List<byte[]> strings) {
    this.type = type;
    this.shape = shape.clone();
    this.data = data;
    this.strings = strings;
  }

  /** Wraps numeric data; the buffer's remaining bytes must be exactly the shape's size. */
  public static Tensor of(DataType type, long[] shape, ByteBuffer data) {
    if (type == DataType.BYTES) {
      throw new IllegalArgumentException("BYTES tensors hold strings: use Tensor.ofStrings");
    }
    long expected = elementCount(shape) * type.byteSize();
    if (data.remaining() != expected) {
      throw new InvalidInputException(
          "size_mismatch",
          "a "
              + type
              + " tensor of shape "
              + Arrays.toString(shape)
              + " needs "
              + expected
              + " bytes, got "
              + data.remaining());
    }
    return new Tensor(type, shape, data.slice().order(ByteOrder.nativeOrder()), List.of());
  }

  public static Tensor ofStrings(long[] shape, List<byte[]> values) {
    if (values.size() != elementCount(shape)) {
      throw new InvalidInputException(
          "size_mismatch",
          "a BYTES tensor of shape "
              + Arrays.toString(shape)
              + " needs "
              + elementCount(shape)
              + " elements, got "
              + values.size());
    }
    return new Tensor(DataType.BYTES, shape, ByteBuffer.allocate(0), List.copyOf(values));
  }

  public static Tensor ofFloats(long[] shape, float... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.nativeOrder());
    b.asFloatBuffer().put(values);
    return of(DataType.FP32, shape, b);
  }

  public static Tensor ofLongs(long[] shape, long... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.nativeOrder());
    b.asLongBuffer().put(values);
    return of(DataType.INT64, shape, b);
  }

  public static long elementCount(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new InvalidInputException(
            "invalid_shape", "shape " + Arrays.toString(shape) + " has a negative dimension");
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  public DataType type() {
    return type;
  }

  public long[] shape() {
    return shape.clone();
  }

  public long elementCount() {
    return elementCount(shape);
  }

  /** A read-only, native-order view of the elements, positioned at 0. */
  public ByteBuffer data() {
    return data.asReadOnlyBuffer().order(ByteOrder.nativeOrder());
  }

  /** The underlying buffer for engines that pass it on without copying. Do not modify. */
  public ByteBuffer rawData() {
    return data.duplicate().order(ByteOrder.nativeOrder());
  }

  public List<byte[]> strings() {
    return strings;
  }

  public FloatBuffer floats() {
    requireType(DataType.FP32);
    return data().asFloatBuffer();
  }

  public LongBuffer longs() {
    requireType(DataType.INT64);
    return data().asLongBuffer();
  }

  public IntBuffer ints() {
    requireType(DataType.INT32);
    return data().asIntBuffer();
  }

  public float[] toFloatArray() {
    FloatBuffer f = floats();
    float[] out = new float[f.remaining()];
    f.get(out);
    return out;
  }

  private void requireType(DataType expected) {
    if (type != expected) {
      throw new IllegalStateException("tensor is " + type + ", not " + expected);
    }
  }

  @Override
  public String toString() {
    return type + Arrays.toString(shape);
  }
}
