package dev.massedge.inference.audio;

import dev.massedge.inference.InvalidInputException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads RIFF/WAVE files: PCM 8/16/24/32-bit and IEEE float 32/64-bit, any rate, any channel count
 * (mixed down to mono). Anything else (A-law, μ-law, ADPCM, not a WAV at all) is refused with an
 * error that says what is accepted.
 */
public final class WavDecoder {
  private static final int PCM = 1;
  private static final int FLOAT = 3;
  private static final int EXTENSIBLE = 0xFFFE;

  private WavDecoder() {}

  public static PcmAudio decode(byte[] bytes) {
    if (bytes == null || bytes.length == 0) {
      throw new InvalidInputException(
          "empty_body", "the request body is empty; expected a WAV file (PCM)");
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.length < 12 || b.getInt(0) != 0x46464952 || b.getInt(8) != 0x45564157) {
      throw new InvalidInputException(
          "not_a_wav", "the body is not a RIFF/WAVE file; expected a WAV file with PCM samples");
    }
    int pos = 12;
    int format = -1;
    int channels = 0;
    int rate = 0;
    int bits = 0;
    int dataOffset = -1;
    int dataLength = 0;
    while (pos + 8 <= bytes.length) {
      int id = b.getInt(pos);
      long size = Integer.toUnsignedLong(b.getInt(pos + 4));
      int body = pos + 8;
      if (id == 0x20746d66) { // "fmt "
        if (size < 16 || body + 16 > bytes.length) {
          throw new InvalidInputException("wav_corrupt", "the WAV fmt chunk is truncated");
        }
        format = b.getShort(body) & 0xffff;
        channels = b.getShort(body + 2) & 0xffff;
        rate = b.getInt(body + 4);
        bits = b.getShort(body + 14) & 0xffff;
        if (format == EXTENSIBLE && size >= 40 && body + 26 <= bytes.length) {
          format = b.getShort(body + 24) & 0xffff;
        }
      } else if (id == 0x61746164) { // "data"
        dataOffset = body;
        dataLength = (int) Math.min(size, bytes.length - body);
        break;
      }
      pos = (int) Math.min(Integer.MAX_VALUE, body + size + (size & 1));
    }
    if (format < 0) {
      throw new InvalidInputException("wav_corrupt", "the WAV file has no fmt chunk");
    }
    if (format != PCM && format != FLOAT) {
      throw new InvalidInputException(
          "wav_not_pcm",
          "WAV encoding "
              + formatName(format)
              + " is not supported; expected PCM (8/16/24/32-bit) or IEEE float");
    }
    if (channels < 1 || rate < 1000 || rate > 384_000) {
      throw new InvalidInputException(
          "wav_corrupt", "implausible WAV header: " + channels + " channels at " + rate + " Hz");
    }
    boolean ok =
        format == PCM
            ? bits == 8 || bits == 16 || bits == 24 || bits == 32
            : bits == 32 || bits == 64;
    if (!ok) {
      throw new InvalidInputException(
          "wav_not_pcm", bits + "-bit samples are not supported for " + formatName(format));
    }
    if (dataOffset < 0) {
      throw new InvalidInputException("wav_corrupt", "the WAV file has no data chunk");
    }
    int bytesPerSample = bits / 8;
    int frame = bytesPerSample * channels;
    int frames = dataLength / frame;
    float[] mono = new float[frames];
    for (int i = 0; i < frames; i++) {
      float sum = 0;
      for (int c = 0; c < channels; c++) {
        sum += sample(b, dataOffset + i * frame + c * bytesPerSample, format, bits);
      }
      mono[i] = sum / channels;
    }
    return new PcmAudio(mono, rate);
  }

  private static float sample(ByteBuffer b, int at, int format, int bits) {
    if (format == FLOAT) {
      return bits == 32 ? b.getFloat(at) : (float) b.getDouble(at);
    }
    return switch (bits) {
      case 8 -> ((b.get(at) & 0xff) - 128) / 128f;
      case 16 -> b.getShort(at) / 32768f;
      case 24 ->
          (((b.get(at + 2)) << 16) | ((b.get(at + 1) & 0xff) << 8) | (b.get(at) & 0xff)) / 8388608f;
      default -> b.getInt(at) / 2147483648f;
    };
  }

  private static String formatName(int f) {
    return switch (f) {
      case 2 -> "Microsoft ADPCM (2)";
      case 6 -> "A-law (6)";
      case 7 -> "mu-law (7)";
      case 0x11 -> "IMA ADPCM (17)";
      case 0x55 -> "MPEG layer 3 (85)";
      case PCM -> "PCM (1)";
      case FLOAT -> "IEEE float (3)";
      default -> "format tag " + f;
    };
  }
}
