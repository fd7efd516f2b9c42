package dev.massedge.inference;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Where the build put the models and the test media, and real ffmpeg to make more media. */
public final class TestAssets {
  private TestAssets() {}

  public static Path models() {
    return Path.of(System.getProperty("mass.models.dir", "../models"));
  }

  public static Path model(String dir) {
    return models().resolve(dir);
  }

  public static Path media(String file) {
    return Path.of(System.getProperty("mass.media.dir", "../media")).resolve(file);
  }

  public static byte[] mediaBytes(String file) {
    try {
      return Files.readAllBytes(media(file));
    } catch (IOException e) {
      throw new IllegalStateException("test media missing: " + media(file), e);
    }
  }

  /** Runs ffmpeg (quiet, overwrite) with the given arguments and returns the output file. */
  public static Path ffmpeg(Path out, String... args) {
    List<String> cmd =
        new ArrayList<>(List.of("ffmpeg", "-hide_banner", "-loglevel", "error", "-y"));
    cmd.addAll(List.of(args));
    cmd.add(out.toString());
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String log = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("ffmpeg failed: " + cmd + "\n" + log);
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException("ffmpeg is needed for this test (apt-get install ffmpeg)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A 640x480 frame of ffmpeg's testsrc pattern (colour bars, a counter: no face). */
  public static Path testsrcPng(Path dir) {
    return ffmpeg(
        dir.resolve("testsrc.png"),
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=640x480:rate=1",
        "-frames:v",
        "1");
  }
}
