package dev.massedge.agent.pipeline;

import dev.massedge.inference.face.Face;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/** JPEG snapshots of camera frames with the detected faces' boxes drawn. */
public final class Snapshots {
  private Snapshots() {}

  /** Writes {@code dir/<name>.jpg}; the frame's pixels are copied, never changed. */
  public static Path write(
      Path dir, String name, int width, int height, byte[] rgb, List<Face> faces)
      throws IOException {
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
    byte[] bgr = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
    for (int i = 0; i < bgr.length; i += 3) {
      bgr[i] = rgb[i + 2];
      bgr[i + 1] = rgb[i + 1];
      bgr[i + 2] = rgb[i];
    }
    var g = img.createGraphics();
    g.setColor(java.awt.Color.GREEN);
    g.setStroke(new java.awt.BasicStroke(2f));
    for (Face f : faces) {
      g.drawRect(
          Math.round(f.x()), Math.round(f.y()), Math.round(f.width()), Math.round(f.height()));
      g.drawString(
          String.format("%.2f", f.score()), Math.round(f.x()), Math.max(10, Math.round(f.y()) - 3));
    }
    g.dispose();
    Files.createDirectories(dir);
    Path out = dir.resolve(name + ".jpg");
    Path tmp = dir.resolve(name + ".jpg.part");
    ImageIO.write(img, "jpg", tmp.toFile());
    Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return out;
  }
}
