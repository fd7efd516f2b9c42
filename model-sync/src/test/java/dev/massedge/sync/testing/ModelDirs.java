package dev.massedge.sync.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Copies of a model directory as other versions, for tests that publish new versions. */
public final class ModelDirs {
  private ModelDirs() {}

  /**
   * Copies {@code from} (its {@code model.json} and model file) to {@code to}, with the
   * descriptor's version set to {@code version}; returns the copied model file, for the caller to
   * change.
   */
  public static Path asVersion(Path from, Path to, String version) throws IOException {
    Files.createDirectories(to);
    String json = Files.readString(from.resolve("model.json"));
    Files.writeString(
        to.resolve("model.json"),
        json.replaceFirst("\"version\"\\s*:\\s*\"[^\"]*\"", "\"version\": \"" + version + "\""));
    String file = new ObjectMapper().readTree(json).path("file").asText();
    return Files.copy(from.resolve(file), to.resolve(file), StandardCopyOption.REPLACE_EXISTING);
  }
}
