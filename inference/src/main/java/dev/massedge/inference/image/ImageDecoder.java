package dev.massedge.inference.image;

import dev.massedge.inference.InvalidInputException;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import javax.imageio.ImageIO;

/** Decodes JPEG and PNG bytes (anything Java's ImageIO reads) into an {@link RgbImage}. */
public final class ImageDecoder {
  static {
    ImageIO.setUseCache(false);
  }

  private ImageDecoder() {}

  public static RgbImage decode(byte[] bytes) {
    if (bytes == null || bytes.length == 0) {
      throw new InvalidInputException(
          "empty_body", "the request body is empty; expected a JPEG or PNG image");
    }
    BufferedImage img;
    try {
      img = ImageIO.read(new ByteArrayInputStream(bytes));
    } catch (IOException | RuntimeException e) {
      throw new InvalidInputException(
          "image_corrupt",
          "the image could not be decoded (truncated or corrupt?): " + e.getMessage(),
          e);
    }
    if (img == null) {
      throw new InvalidInputException(
          "not_an_image",
          "the body ("
              + bytes.length
              + " bytes, starting "
              + hexPrefix(bytes)
              + ") is not a JPEG or PNG image");
    }
    return fromBufferedImage(img);
  }

  public static RgbImage fromBufferedImage(BufferedImage img) {
    int w = img.getWidth();
    int h = img.getHeight();
    byte[] out = new byte[w * h * 3];
    if (img.getType() == BufferedImage.TYPE_3BYTE_BGR) {
      byte[] bgr = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
      for (int i = 0; i < out.length; i += 3) {
        out[i] = bgr[i + 2];
        out[i + 1] = bgr[i + 1];
        out[i + 2] = bgr[i];
      }
    } else if (img.getType() == BufferedImage.TYPE_BYTE_GRAY) {
      byte[] g = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
      for (int i = 0, j = 0; i < g.length; i++, j += 3) {
        out[j] = g[i];
        out[j + 1] = g[i];
        out[j + 2] = g[i];
      }
    } else {
      int[] row = new int[w];
      for (int y = 0; y < h; y++) {
        img.getRGB(0, y, w, 1, row, 0, w);
        for (int x = 0, j = y * w * 3; x < w; x++, j += 3) {
          int p = row[x];
          out[j] = (byte) (p >> 16);
          out[j + 1] = (byte) (p >> 8);
          out[j + 2] = (byte) p;
        }
      }
    }
    return new RgbImage(w, h, out);
  }

  private static String hexPrefix(byte[] b) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < Math.min(8, b.length); i++) {
      s.append(String.format("%02x", b[i] & 0xff));
    }
    return s.toString();
  }
}
