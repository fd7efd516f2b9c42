package dev.massedge.inference;

/** Element types of a tensor, named as the Open Inference Protocol names them. */
public enum DataType {
  BOOL(1),
  UINT8(1),
  INT8(1),
  INT16(2),
  INT32(4),
  INT64(8),
  FP16(2),
  FP32(4),
  FP64(8),
  /** Variable-length byte strings; {@link #byteSize()} is 0 because elements have no fixed size. */
  BYTES(0);

  private final int byteSize;

  DataType(int byteSize) {
    this.byteSize = byteSize;
  }

  /** Bytes per element, or 0 for {@link #BYTES}. */
  public int byteSize() {
    return byteSize;
  }

  /** Parses a protocol datatype name ("FP32", "INT64", ...), case-insensitive. */
  public static DataType parse(String name) {
    try {
      return DataType.valueOf(name.trim().toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new InvalidInputException(
          "unsupported_datatype",
          "datatype '"
              + name
              + "' is not supported; expected one of "
              + java.util.List.of(values()));
    }
  }
}
