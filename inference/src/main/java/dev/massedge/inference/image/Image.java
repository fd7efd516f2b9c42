package dev.massedge.inference.image;

/** A picture in one of the layouts a camera or decoder delivers: packed RGB or planar YUV 4:2:0. */
public sealed interface Image permits RgbImage, Yuv420Image {
  int width();

  int height();

  /** The picture as packed RGB (itself when it is already RGB). */
  RgbImage toRgb();
}
