package dev.massedge.drivers.audio;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.sound.sampled.AudioFormat;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;
import javax.sound.sampled.UnsupportedAudioFileException;

/**
 * A WAV file as a microphone: 16-bit PCM at any rate and channel count, mixed to mono and resampled
 * (linear) to the requested rate, cut into frames. Anything else (8-bit, float, A-law, μ-law,
 * compressed) is refused, and so is a file shorter than its header says.
 */
public final class WavFileSource implements AudioSource {
  private final String name;
  private final int rate;
  private final int frameSamples;
  private final float[] samples;
  private int pos;
  private long index;

  public WavFileSource(String name, Path file, int sampleRate, int frameSamples) {
    this.name = name;
    this.rate = sampleRate;
    this.frameSamples = frameSamples;
    this.samples = load(file, sampleRate);
  }

  static float[] load(Path file, int targetRate) {
    if (!Files.isRegularFile(file)) {
      throw new AudioFormatException("WAV file " + file + " does not exist");
    }
    long fileBytes;
    try {
      fileBytes = Files.size(file);
    } catch (IOException e) {
      throw new AudioFormatException("cannot read " + file + ": " + e.getMessage(), e);
    }
    try (InputStream raw = new BufferedInputStream(Files.newInputStream(file));
        AudioInputStream in = AudioSystem.getAudioInputStream(raw)) {
      AudioFormat f = in.getFormat();
      if (f.getEncoding() != AudioFormat.Encoding.PCM_SIGNED || f.getSampleSizeInBits() != 16) {
        throw new AudioFormatException(
            file
                + " is "
                + f.getEncoding()
                + " "
                + f.getSampleSizeInBits()
                + "-bit; expected 16-bit PCM (convert with: ffmpeg -i IN -c:a pcm_s16le OUT.wav)");
      }
      int channels = f.getChannels();
      byte[] data = in.readAllBytes();
      long expected =
          in.getFrameLength() == AudioSystem.NOT_SPECIFIED
              ? -1
              : in.getFrameLength() * f.getFrameSize();
      if (expected > data.length) {
        throw new AudioFormatException(
            file
                + " is truncated: its header announces "
                + expected
                + " bytes of samples, the file holds "
                + data.length
                + " ("
                + fileBytes
                + " bytes in all)");
      }
      int frames = data.length / (2 * channels);
      float[] mono = new float[frames];
      boolean big = f.isBigEndian();
      for (int i = 0; i < frames; i++) {
        float sum = 0;
        for (int c = 0; c < channels; c++) {
          int o = (i * channels + c) * 2;
          int v =
              big ? (data[o] << 8) | (data[o + 1] & 0xff) : (data[o + 1] << 8) | (data[o] & 0xff);
          sum += (short) v / 32768f;
        }
        mono[i] = sum / channels;
      }
      return resample(mono, Math.round(f.getSampleRate()), targetRate);
    } catch (UnsupportedAudioFileException e) {
      throw new AudioFormatException(
          file + " is not a WAV file Java Sound can read: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new AudioFormatException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  static float[] resample(float[] in, int from, int to) {
    if (from == to) {
      return in;
    }
    int n = (int) ((long) in.length * to / from);
    float[] out = new float[n];
    double step = (double) from / to;
    for (int i = 0; i < n; i++) {
      double src = i * step;
      int i0 = (int) src;
      int i1 = Math.min(i0 + 1, in.length - 1);
      float frac = (float) (src - i0);
      out[i] = in[i0] * (1 - frac) + in[i1] * frac;
    }
    return out;
  }

  @Override
  public int sampleRate() {
    return rate;
  }

  @Override
  public int frameSamples() {
    return frameSamples;
  }

  /** Frames until the end; the last partial frame is padded with silence. */
  @Override
  public AudioFrame read() {
    if (pos >= samples.length) {
      return null;
    }
    float[] f = new float[frameSamples];
    int n = Math.min(frameSamples, samples.length - pos);
    System.arraycopy(samples, pos, f, 0, n);
    AudioFrame frame = new AudioFrame(index++, (double) pos / rate, f);
    pos += frameSamples;
    return frame;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void close() {
    pos = samples.length;
  }
}
