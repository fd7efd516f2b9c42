package dev.massedge.drivers.audio;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A microphone read from a subprocess writing 16-bit little-endian mono PCM at the sample rate to
 * its standard output: {@code arecord -D DEVICE -f S16_LE -c 1 -r 16000 -t raw}, or ffmpeg reading
 * anything ({@link #ffmpeg}).
 */
public final class ProcessAudioSource implements AudioSource {
  private final String name;
  private final int rate;
  private final int frameSamples;
  private final Process process;
  private final InputStream in;
  private long index;

  public ProcessAudioSource(String name, List<String> command, int sampleRate, int frameSamples) {
    this.name = name;
    this.rate = sampleRate;
    this.frameSamples = frameSamples;
    try {
      this.process =
          new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      throw new AudioFormatException(
          "microphone '" + name + "': cannot start " + command.get(0) + ": " + e.getMessage(), e);
    }
    this.in = process.getInputStream();
  }

  /** ffmpeg decoding any input (file, URL, {@code -f alsa hw:1}) to mono PCM at the rate. */
  public static ProcessAudioSource ffmpeg(
      String name, String input, List<String> inputOptions, int sampleRate, int frameSamples) {
    List<String> cmd =
        new ArrayList<>(List.of("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin"));
    cmd.addAll(inputOptions);
    cmd.addAll(
        List.of(
            "-i",
            input,
            "-vn",
            "-ac",
            "1",
            "-ar",
            Integer.toString(sampleRate),
            "-f",
            "s16le",
            "pipe:1"));
    return new ProcessAudioSource(name, cmd, sampleRate, frameSamples);
  }

  @Override
  public int sampleRate() {
    return rate;
  }

  @Override
  public int frameSamples() {
    return frameSamples;
  }

  @Override
  public AudioFrame read() throws IOException {
    byte[] b = in.readNBytes(frameSamples * 2);
    if (b.length == 0) {
      return null;
    }
    float[] f = new float[frameSamples];
    for (int i = 0; i + 1 < b.length; i += 2) {
      f[i / 2] = (short) ((b[i + 1] << 8) | (b[i] & 0xff)) / 32768f;
    }
    long i = index++;
    return new AudioFrame(i, (double) i * frameSamples / rate, f);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
