package dev.massedge.sync.pkg;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.List;

/**
 * What a model package holds: the model's name, version, task, engine and provider requirements,
 * every file with its size, SHA-256 and content-defined chunks, and the model descriptor. Its
 * canonical bytes (JSON, keys sorted, no white space, UTF-8) are what publishers sign.
 */
public record ModelManifest(
    int format,
    String name,
    String version,
    String task,
    String engine,
    List<String> executionProviders,
    List<FileEntry> files,
    JsonNode descriptor) {

  public static final int FORMAT = 1;

  /** One file of the package and the chunks it is made of, in order. */
  public record FileEntry(String path, long size, String sha256, List<ChunkRef> chunks) {
    /** The bytes of chunks {@code [from, to)}; {@code length(0, i)} is chunk i's offset. */
    public long length(int from, int to) {
      long n = 0;
      for (int i = from; i < to; i++) {
        n += chunks.get(i).size();
      }
      return n;
    }
  }

  /** A chunk by content: its SHA-256 and length. */
  public record ChunkRef(String sha256, int size) {}

  static final ObjectMapper CANONICAL =
      JsonMapper.builder()
          .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
          .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
          .build();

  public ModelManifest {
    if (format != FORMAT) {
      throw new PackageRejectedException(
          "manifest_invalid",
          "manifest format " + format + " is not supported; this agent reads format " + FORMAT);
    }
    if (name == null || version == null || files == null || files.isEmpty()) {
      throw new PackageRejectedException(
          "manifest_invalid", "a manifest needs a name, a version and at least one file");
    }
    for (FileEntry f : files) {
      if (f.path() == null || f.path().contains("..") || f.path().startsWith("/")) {
        throw new PackageRejectedException(
            "manifest_invalid", "file path '" + f.path() + "' must stay inside the package");
      }
      long sum = f.chunks().stream().mapToLong(ChunkRef::size).sum();
      if (sum != f.size()) {
        throw new PackageRejectedException(
            "manifest_invalid",
            "file '" + f.path() + "' is " + f.size() + " bytes but its chunks add up to " + sum);
      }
    }
    executionProviders = executionProviders == null ? List.of() : List.copyOf(executionProviders);
    files = List.copyOf(files);
  }

  /** The bytes a signature covers: sorted-key JSON, no white space. */
  public byte[] canonicalBytes() {
    try {
      JsonNode tree = CANONICAL.valueToTree(this);
      return CANONICAL.writeValueAsBytes(CANONICAL.treeToValue(tree, Object.class));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static ModelManifest parse(byte[] json) {
    try {
      return CANONICAL.readValue(json, ModelManifest.class);
    } catch (PackageRejectedException e) {
      throw e;
    } catch (IOException e) {
      throw new PackageRejectedException(
          "manifest_invalid", "the manifest cannot be read: " + e.getMessage());
    }
  }

  /** Every distinct chunk of the package, for a device to compare with what it already has. */
  public List<ChunkRef> allChunks() {
    return files.stream().flatMap(f -> f.chunks().stream()).distinct().toList();
  }
}
