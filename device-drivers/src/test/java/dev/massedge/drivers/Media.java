package dev.massedge.drivers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Test media and real ffmpeg. */
public final class Media {
  private Media() {}

  public static Path file(String name) {
    return Path.of(System.getProperty("mass.media.dir", "../media")).resolve(name);
  }

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
      throw new IllegalStateException("ffmpeg is needed (apt-get install ffmpeg)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
