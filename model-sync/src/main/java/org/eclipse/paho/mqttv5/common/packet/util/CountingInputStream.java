package org.eclipse.paho.mqttv5.common.packet.util;

import java.io.IOException;
import java.io.InputStream;

/**
 * Mass Edge's replacement for Eclipse Paho 1.2.5's class of this name (same package, same public
 * API), which counts the bytes read from a packet while Paho decodes it.
 *
 * <p>Paho's own class overrides only {@code read()}, so every bulk read through it — a PUBLISH
 * payload, read with {@code DataInputStream.readFully} — falls back to {@link InputStream}'s loop
 * of one virtual call and one synchronized {@code ByteArrayInputStream.read()} per byte: a device
 * receiving model chunks spent most of its CPU there (a 10 MB delivery through Mosquitto: 56 →
 * about 100 MB/s with this class, docs/benchmarks.md). This one passes bulk reads through and
 * counts them.
 *
 * <p>It works by coming first on the class path: model-sync is declared before Paho in every
 * module, so its jar is ahead of Paho's in the build's and the bundles' class paths. {@code
 * MqttLink} warns once when Paho's own class was loaded instead (decoding stays correct, only
 * slow); {@code PahoDecodeTest} checks which one model-sync's tests load, {@code PackagingIT} the
 * order in the agent bundle's class path.
 */
public class CountingInputStream extends InputStream {
  private final InputStream inputStream;
  private int counter;

  public CountingInputStream(InputStream inputStream) {
    this.inputStream = inputStream;
  }

  @Override
  public int read() throws IOException {
    int b = inputStream.read();
    if (b != -1) {
      counter++;
    }
    return b;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = inputStream.read(b, off, len);
    if (n > 0) {
      counter += n;
    }
    return n;
  }

  /** Bytes read so far (since the last {@link #resetCounter}). */
  public int getCounter() {
    return counter;
  }

  public void resetCounter() {
    counter = 0;
  }
}
