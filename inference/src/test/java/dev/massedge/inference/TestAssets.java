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

  /** A 640×480, 15 fps video of {@code astronaut.png} (a face) for {@code seconds}. */
  public static Path faceVideo(Path out, int seconds) {
    return ffmpeg(
        out,
        "-loop",
        "1",
        "-i",
        media("astronaut.png").toString(),
        "-t",
        Integer.toString(seconds),
        "-r",
        "15",
        "-vf",
        "scale=480:480,pad=640:480:80:0",
        "-pix_fmt",
        "yuv420p");
  }

  /**
   * A 640×480, 15 fps video: {@code astronaut.png} (a face) for {@code faceSeconds}, then ffmpeg's
   * test pattern (no face) for {@code patternSeconds} — a person at a door, then gone. Written as
   * {@code dir/door.mp4}.
   */
  public static Path faceThenPattern(Path dir, int faceSeconds, int patternSeconds) {
    try {
      Files.createDirectories(dir);
      Path face = faceVideo(dir.resolve("face.mp4"), faceSeconds);
      Path pattern =
          ffmpeg(
              dir.resolve("pattern.mp4"),
              "-f",
              "lavfi",
              "-i",
              "testsrc=size=640x480:rate=15",
              "-t",
              Integer.toString(patternSeconds),
              "-pix_fmt",
              "yuv420p");
      Path list =
          Files.writeString(
              dir.resolve("list.txt"), "file '" + face + "'\nfile '" + pattern + "'\n");
      return ffmpeg(
          dir.resolve("door.mp4"),
          "-f",
          "concat",
          "-safe",
          "0",
          "-i",
          list.toString(),
          "-c",
          "copy");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Ten calibration images made from the test media: each face image as is, flipped, darker and
   * smaller in a grey frame, and two non-face patterns (testsrc, a mandelbrot).
   */
  public static Path calibrationImages(Path dir) {
    try {
      java.nio.file.Files.createDirectories(dir);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    for (String f : List.of("astronaut", "camera")) {
      String src = media(f + ".png").toString();
      ffmpeg(dir.resolve(f + ".png"), "-i", src);
      ffmpeg(dir.resolve(f + "_flip.png"), "-i", src, "-vf", "hflip");
      ffmpeg(dir.resolve(f + "_dark.png"), "-i", src, "-vf", "eq=brightness=-0.15");
      ffmpeg(
          dir.resolve(f + "_small.png"), "-i", src, "-vf", "scale=320:320,pad=640:480:100:60:gray");
    }
    nonFaces(dir);
    return dir;
  }

  /** The face test images and two non-face patterns: what a converted face model is judged on. */
  public static Path evaluationImages(Path dir) {
    try {
      java.nio.file.Files.createDirectories(dir);
      for (String f : List.of("astronaut", "camera")) {
        java.nio.file.Files.copy(media(f + ".png"), dir.resolve(f + ".png"));
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    nonFaces(dir);
    return dir;
  }

  private static void nonFaces(Path dir) {
    ffmpeg(
        dir.resolve("testsrc.png"), "-f", "lavfi", "-i", "testsrc=size=640x480", "-frames:v", "1");
    ffmpeg(
        dir.resolve("mandelbrot.png"),
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=640x480",
        "-frames:v",
        "1");
  }

  /** The test recordings a converted VAD is calibrated and judged on. */
  public static Path recordings(Path dir) {
    try {
      java.nio.file.Files.createDirectories(dir);
      for (String w :
          List.of(
              "vad_test_16k.wav",
              "silence3s.wav",
              "pinknoise3s.wav",
              "librivox_0870_16k.wav",
              "sent_16k.wav")) {
        java.nio.file.Files.copy(media(w), dir.resolve(w));
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return dir;
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
