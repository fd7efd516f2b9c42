package dev.massedge.inference.audio;

/** Mono audio as floats in [-1, 1] at a sample rate. */
public record PcmAudio(float[] samples, int sampleRate) {
  public double durationMs() {
    return samples.length * 1000.0 / sampleRate;
  }

  /** Resamples (linear interpolation) to {@code rate}; returns this when the rate already fits. */
  public PcmAudio resample(int rate) {
    if (rate == sampleRate) {
      return this;
    }
    int n = (int) ((long) samples.length * rate / sampleRate);
    float[] out = new float[n];
    double step = (double) sampleRate / rate;
    for (int i = 0; i < n; i++) {
      double src = i * step;
      int i0 = (int) src;
      int i1 = Math.min(i0 + 1, samples.length - 1);
      float f = (float) (src - i0);
      out[i] = samples[i0] * (1 - f) + samples[i1] * f;
    }
    return new PcmAudio(out, rate);
  }
}
