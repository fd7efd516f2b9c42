package dev.massedge.sync.pkg;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A manifest for a model directory ({@code model.json} + the model file), chunked with FastCDC. */
public final class PackageBuilder {
  private PackageBuilder() {}

  public static ModelManifest build(Path modelDir, ChunkStore store) throws IOException {
    JsonNode descriptor = new ObjectMapper().readTree(modelDir.resolve("model.json").toFile());
    String file = descriptor.path("file").asText();
    List<ModelManifest.FileEntry> files = new ArrayList<>();
    for (String f : List.of(file)) {
      byte[] data = Files.readAllBytes(modelDir.resolve(f));
      List<ModelManifest.ChunkRef> chunks = new ArrayList<>();
      for (FastCdc.Chunk c : FastCdc.chunks(data)) {
        ModelManifest.ChunkRef ref = new ModelManifest.ChunkRef(c.sha256(), c.length());
        chunks.add(ref);
        if (store != null && !store.has(c.sha256())) {
          byte[] part = new byte[c.length()];
          System.arraycopy(data, (int) c.offset(), part, 0, c.length());
          store.put(ref, part);
        }
      }
      files.add(new ModelManifest.FileEntry(f, data.length, Hashes.sha256(data), chunks));
    }
    List<String> providers = new ArrayList<>();
    descriptor.path("executionProviders").forEach(p -> providers.add(p.asText()));
    return new ModelManifest(
        ModelManifest.FORMAT,
        descriptor.path("name").asText(),
        descriptor.path("version").asText(),
        descriptor.path("task").asText(),
        descriptor.path("engine").asText(),
        providers,
        files,
        descriptor);
  }
}
