package dev.massedge.drivers.audio;

import java.util.ArrayList;
import java.util.List;
import javax.sound.sampled.AudioFormat;
import javax.sound.sampled.AudioSystem;
import javax.sound.sampled.DataLine;
import javax.sound.sampled.LineUnavailableException;
import javax.sound.sampled.Mixer;
import javax.sound.sampled.TargetDataLine;

/** Capture through Java Sound (ALSA on Linux): a mixer chosen by (part of) its name. */
public final class JavaSoundSource implements AudioSource {
  private final String name;
  private final int rate;
  private final int frameSamples;
  private final TargetDataLine line;
  private long index;

  public JavaSoundSource(String name, String device, int sampleRate, int frameSamples) {
    this.name = name;
    this.rate = sampleRate;
    this.frameSamples = frameSamples;
    AudioFormat format = new AudioFormat(sampleRate, 16, 1, true, false);
    DataLine.Info info = new DataLine.Info(TargetDataLine.class, format);
    List<String> seen = new ArrayList<>();
    TargetDataLine found = null;
    for (Mixer.Info m : AudioSystem.getMixerInfo()) {
      Mixer mixer = AudioSystem.getMixer(m);
      if (!mixer.isLineSupported(info)) {
        continue;
      }
      seen.add(m.getName());
      if (found == null && (device == null || device.isBlank() || m.getName().contains(device))) {
        try {
          found = (TargetDataLine) mixer.getLine(info);
        } catch (LineUnavailableException e) {
          throw new AudioFormatException(
              "microphone '" + name + "': " + m.getName() + " is busy: " + e.getMessage(), e);
        }
      }
    }
    if (found == null) {
      throw new AudioFormatException(
          "microphone '"
              + name
              + "': no capture device matches '"
              + device
              + "' for 16-bit mono at "
              + sampleRate
              + " Hz; capture devices here: "
              + (seen.isEmpty() ? "none" : seen));
    }
    try {
      found.open(format, frameSamples * 8);
    } catch (LineUnavailableException e) {
      throw new AudioFormatException(
          "microphone '" + name + "': cannot open: " + e.getMessage(), e);
    }
    found.start();
    this.line = found;
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
  public AudioFrame read() {
    byte[] b = new byte[frameSamples * 2];
    int n = 0;
    while (n < b.length) {
      int r = line.read(b, n, b.length - n);
      if (r <= 0) {
        return null;
      }
      n += r;
    }
    float[] f = new float[frameSamples];
    for (int i = 0; i < frameSamples; i++) {
      f[i] = (short) ((b[2 * i + 1] << 8) | (b[2 * i] & 0xff)) / 32768f;
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
    line.stop();
    line.close();
  }
}
