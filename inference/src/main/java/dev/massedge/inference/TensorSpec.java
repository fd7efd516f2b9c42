package dev.massedge.inference;

import java.util.Arrays;

/**
 * The name, type and shape a model declares for one of its inputs or outputs. A dimension of -1 is
 * dynamic (any size).
 */
public record TensorSpec(String name, DataType type, long[] shape) {
  public TensorSpec {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Whether a tensor of the given shape fits this spec (same rank, fixed dimensions equal). */
  public boolean accepts(long[] actual) {
    if (actual.length != shape.length) {
      return false;
    }
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] >= 0 && shape[i] != actual[i]) {
        return false;
      }
    }
    return true;
  }

  public String describe() {
    return "'" + name + "' " + type + " " + Arrays.toString(shape).replace("-1", "?");
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorSpec t
        && t.name.equals(name)
        && t.type == type
        && Arrays.equals(t.shape, shape);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return describe();
  }
}
