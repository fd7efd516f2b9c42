package dev.massedge.drivers.audio;

import java.io.IOException;

/** A microphone: mono frames of a fixed size at a fixed rate (16 kHz for the voice pipeline). */
public interface AudioSource extends AutoCloseable {
  int sampleRate();

  int frameSamples();

  /** The next frame, blocking; null at the end of a finite source. */
  AudioFrame read() throws IOException;

  String name();

  @Override
  void close();
}
