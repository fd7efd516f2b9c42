package dev.massedge.sim;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.sound.sampled.AudioSystem;
import javax.sound.sampled.UnsupportedAudioFileException;

/**
 * Synthetic camera and microphone recordings made with ffmpeg, with their ground truth written
 * beside them ({@code <name>.truth.json}), so what an agent reports can be scored: a face image
 * moving over a noisy background between scheduled enter and leave times; phrases played into pink
 * noise at scheduled times.
 */
public final class SyntheticMedia {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** The face picture's side in the 640×480 frame (the face itself is about half of it). */
  static final int SIZE = 420;

  private SyntheticMedia() {}

  /** A face in view from {@code enter} to {@code leave} seconds. */
  public record Appearance(double enter, double leave) {}

  /** A recording played at {@code at} seconds; {@code wake} when it holds the wake word. */
  public record Phrase(Path wav, double at, boolean wake) {}

  /**
   * A 640×480 video of {@code seconds} at {@code fps}: the picture {@code face} (420 px, drifting
   * right at 6 px/s) over a grey background with sensor noise, in view during each appearance.
   */
  public static Path camera(Path out, Path face, double seconds, int fps, List<Appearance> schedule)
      throws IOException, InterruptedException {
    Files.createDirectories(out.toAbsolutePath().getParent());
    StringBuilder filter =
        new StringBuilder("[0:v]noise=alls=3:allf=t[bg];[1:v]scale=" + SIZE + ":" + SIZE);
    filter.append(",split=").append(Math.max(1, schedule.size()));
    for (int i = 0; i < Math.max(1, schedule.size()); i++) {
      filter.append("[f").append(i).append("]");
    }
    String last = "bg";
    List<Map<String, Object>> truth = new ArrayList<>();
    for (int i = 0; i < schedule.size(); i++) {
      Appearance a = schedule.get(i);
      String next = "v" + i;
      filter.append(
          String.format(
              Locale.ROOT,
              ";[%s][f%d]overlay=x='40+6*(t-%.2f)':y=30:enable='between(t,%.2f,%.2f)'[%s]",
              last,
              i,
              a.enter(),
              a.enter(),
              a.leave(),
              next));
      last = next;
      Map<String, Object> t = new LinkedHashMap<>();
      t.put("type", "face");
      t.put("enter", a.enter());
      t.put("leave", a.leave());
      t.put("image", Map.of("x", "40 + 6 * (t - enter)", "y", 30, "width", SIZE, "height", SIZE));
      truth.add(t);
    }
    filter.append(";[").append(last).append("]format=yuv420p[out]");
    ffmpeg(
        List.of(
            "-f",
            "lavfi",
            "-i",
            String.format(Locale.ROOT, "color=c=0x5a6470:s=640x480:r=%d:d=%.2f", fps, seconds),
            "-loop",
            "1",
            "-i",
            face.toString(),
            "-filter_complex",
            filter.toString(),
            "-map",
            "[out]",
            "-t",
            String.format(Locale.ROOT, "%.2f", seconds),
            "-r",
            Integer.toString(fps),
            "-crf",
            "30",
            out.toString()));
    writeTruth(out, Map.of("kind", "camera", "seconds", seconds, "fps", fps, "events", truth));
    return out;
  }

  /** A 16 kHz mono WAV of {@code seconds}: pink noise with each phrase at its time. */
  public static Path microphone(Path out, double seconds, List<Phrase> schedule)
      throws IOException, InterruptedException {
    Files.createDirectories(out.toAbsolutePath().getParent());
    List<String> cmd = new ArrayList<>();
    cmd.addAll(
        List.of(
            "-f",
            "lavfi",
            "-i",
            String.format(
                Locale.ROOT, "anoisesrc=color=pink:amplitude=0.01:r=16000:d=%.2f", seconds)));
    StringBuilder filter = new StringBuilder();
    StringBuilder mix = new StringBuilder("[0:a]");
    List<Map<String, Object>> truth = new ArrayList<>();
    for (int i = 0; i < schedule.size(); i++) {
      Phrase p = schedule.get(i);
      cmd.addAll(List.of("-i", p.wav().toString()));
      long ms = Math.round(p.at() * 1000);
      filter.append(
          String.format(Locale.ROOT, "[%d:a]aresample=16000,adelay=%d|%d[p%d];", i + 1, ms, ms, i));
      mix.append("[p").append(i).append("]");
      Map<String, Object> t = new LinkedHashMap<>();
      t.put("type", p.wake() ? "wake_word" : "speech");
      t.put("file", p.wav().getFileName().toString());
      t.put("start", p.at());
      t.put("end", p.at() + durationSeconds(p.wav()));
      truth.add(t);
    }
    filter
        .append(mix)
        .append(
            String.format(
                Locale.ROOT,
                "amix=inputs=%d:duration=first:normalize=0,aformat=sample_fmts=s16:channel_layouts=mono[out]",
                schedule.size() + 1));
    cmd.addAll(
        List.of(
            "-filter_complex",
            filter.toString(),
            "-map",
            "[out]",
            "-ar",
            "16000",
            "-ac",
            "1",
            "-t",
            String.format(Locale.ROOT, "%.2f", seconds),
            out.toString()));
    ffmpeg(cmd);
    writeTruth(out, Map.of("kind", "microphone", "seconds", seconds, "events", truth));
    return out;
  }

  static double durationSeconds(Path wav) throws IOException {
    try {
      var f = AudioSystem.getAudioFileFormat(wav.toFile());
      return f.getFrameLength() / (double) f.getFormat().getFrameRate();
    } catch (UnsupportedAudioFileException e) {
      throw new IOException(wav + " is not a WAV file: " + e.getMessage(), e);
    }
  }

  /**
   * A phrase spoken by espeak-ng ({@code voice} such as {@code en-us}, {@code en-gb+f3}; {@code
   * wordsPerMinute} 80–450) as a 16 kHz mono WAV in {@code dir}, made once and reused: the
   * synthetic microphone's speech is made at run time, so any phrase can be scheduled.
   */
  public static Path speak(Path dir, String text, String voice, int wordsPerMinute)
      throws IOException, InterruptedException {
    String name =
        (voice + "-" + wordsPerMinute + "-" + text)
                .toLowerCase(Locale.ROOT)
                .replaceAll("[^a-z0-9]+", "_")
                .replaceAll("^_|_$", "")
            + ".wav";
    Path out = Files.createDirectories(dir).resolve(name);
    if (Files.isRegularFile(out)) {
      return out;
    }
    Path raw = dir.resolve(name + ".espeak.wav");
    Process p;
    try {
      p =
          new ProcessBuilder(
                  "espeak-ng",
                  "-v",
                  voice,
                  "-s",
                  Integer.toString(wordsPerMinute),
                  "-w",
                  raw.toString(),
                  text)
              .redirectErrorStream(true)
              .start();
    } catch (IOException e) {
      throw new IOException(
          "espeak-ng is needed for the synthetic microphone (apt-get install espeak-ng): "
              + e.getMessage(),
          e);
    }
    String said = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0 || !Files.isRegularFile(raw)) {
      throw new IOException("espeak-ng failed for voice " + voice + ": " + said.strip());
    }
    Path tmp = dir.resolve(name + ".tmp.wav");
    ffmpeg(
        List.of(
            "-i",
            raw.toString(),
            "-ar",
            "16000",
            "-ac",
            "1",
            "-sample_fmt",
            "s16",
            tmp.toString()));
    Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
    Files.delete(raw);
    return out;
  }

  private static void writeTruth(Path media, Map<String, Object> truth) throws IOException {
    String name = media.getFileName().toString().replaceFirst("\\.[^.]+$", "");
    JSON.writeValue(media.resolveSibling(name + ".truth.json").toFile(), truth);
  }

  private static void ffmpeg(List<String> args) throws IOException, InterruptedException {
    List<String> cmd =
        new ArrayList<>(List.of("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"));
    cmd.addAll(args);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("ffmpeg failed: " + out + "\ncommand: " + String.join(" ", cmd));
    }
  }
}
