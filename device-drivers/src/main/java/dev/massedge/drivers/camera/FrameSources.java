package dev.massedge.drivers.camera;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Cameras by kind: ffmpeg (V4L2, RTSP/HTTP, files, stills, lavfi) and GStreamer pipelines. */
public final class FrameSources {
  private FrameSources() {}

  /**
   * An ffmpeg input. {@code input} is what follows {@code -i} ({@code /dev/video0}, {@code
   * rtsp://...}, a file, an image); {@code inputOptions} go before it ({@code -f v4l2}, {@code -f
   * lavfi}, {@code -rtsp_transport tcp}). Frames are scaled into width×height keeping the aspect
   * ratio (black bars) at {@code fps}, in {@link PixelFormat#I420}. Files play at their own pace
   * ({@code -re}) and resume where they stopped after a restart; streams and devices restart from
   * live.
   */
  public static ProcessFrameSource ffmpeg(
      String name, String input, List<String> inputOptions, int width, int height, double fps) {
    boolean file = isFile(input, inputOptions);
    return new ProcessFrameSource(
        name,
        position -> ffmpegCommand(input, inputOptions, width, height, fps, file, true, position),
        width,
        height,
        PixelFormat.I420,
        fps,
        file);
  }

  static List<String> ffmpegCommand(
      String input,
      List<String> inputOptions,
      int width,
      int height,
      double fps,
      boolean file,
      boolean fpsFilter,
      double position) {
    List<String> cmd =
        new ArrayList<>(List.of("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin"));
    if (file) {
      cmd.add("-re");
      if (position > 0) {
        cmd.addAll(List.of("-ss", String.format(Locale.ROOT, "%.3f", position)));
      }
    }
    cmd.addAll(inputOptions);
    cmd.addAll(List.of("-i", input));
    String scale =
        String.format(
            Locale.ROOT,
            "scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2",
            width,
            height,
            width,
            height);
    String filter = (fpsFilter ? String.format(Locale.ROOT, "fps=%s,", fps) : "") + scale;
    cmd.addAll(
        List.of(
            "-an",
            "-vf",
            filter,
            "-pix_fmt",
            PixelFormat.I420.ffmpegName(),
            "-f",
            "rawvideo",
            "pipe:1"));
    return cmd;
  }

  static boolean isFile(String input, List<String> inputOptions) {
    if (inputOptions.contains("lavfi")
        || inputOptions.contains("v4l2")
        || input.startsWith("/dev/")) {
      return false;
    }
    return !input.matches("^[a-z]+://.*");
  }

  /**
   * A video file analysed as fast as the pipeline goes (no {@code -re}, nothing dropped: the
   * decoder waits for the pipeline) — offline analysis, batch jobs and benchmarks.
   */
  public static ProcessFrameSource videoFileUnpaced(
      String name, String file, List<String> inputOptions, int width, int height, double fps) {
    return new ProcessFrameSource(
        name,
        position -> {
          List<String> cmd = ffmpegCommand(file, inputOptions, width, height, fps, false, true, 0);
          return cmd;
        },
        width,
        height,
        PixelFormat.I420,
        fps,
        true,
        true);
  }

  /**
   * The images in a folder (any format ffmpeg reads, in name order) played as a camera at {@code
   * fps}; the source ends after the last image.
   */
  public static ProcessFrameSource imageFolder(
      String name, java.nio.file.Path dir, int width, int height, double fps) {
    if (!java.nio.file.Files.isDirectory(dir)) {
      throw new IllegalArgumentException(
          "camera '" + name + "': image folder " + dir + " does not exist");
    }
    List<String> opts =
        List.of(
            "-f",
            "image2",
            "-pattern_type",
            "glob",
            "-framerate",
            String.format(Locale.ROOT, "%s", fps));
    return new ProcessFrameSource(
        name,
        position ->
            ffmpegCommand(
                dir.resolve("*").toString(), opts, width, height, fps, true, false, position),
        width,
        height,
        PixelFormat.I420,
        fps,
        true);
  }

  /**
   * A GStreamer pipeline (for example Jetson CSI: {@code nvarguscamerasrc ! nvvidconv}) whose end
   * is converted to raw I420 at width×height and written to standard output. The width must be a
   * multiple of 8 and the height even, so that GStreamer writes the planes without row padding.
   */
  public static ProcessFrameSource gstreamer(
      String name, String pipeline, int width, int height, double fps) {
    // GStreamer pads I420 rows to 4 bytes (and planes to an even height); ffmpeg does not, and the
    // reader expects tight planes
    if (width % 8 != 0 || height % 2 != 0) {
      throw new IllegalArgumentException(
          "camera '"
              + name
              + "': a GStreamer camera needs a width that is a multiple of 8 and an even height"
              + " (GStreamer pads I420 rows to 4 bytes), got "
              + width
              + "x"
              + height);
    }
    return new ProcessFrameSource(
        name,
        position -> gstreamerCommand(pipeline, width, height, fps),
        width,
        height,
        PixelFormat.I420,
        fps,
        false);
  }

  static List<String> gstreamerCommand(String pipeline, int width, int height, double fps) {
    List<String> cmd = new ArrayList<>(List.of("gst-launch-1.0", "-q"));
    for (String part : pipeline.trim().split("\\s+")) {
      cmd.add(part);
    }
    cmd.addAll(
        List.of(
            "!",
            "videoconvert",
            "!",
            "videoscale",
            "!",
            "videorate",
            "!",
            String.format(
                Locale.ROOT,
                "video/x-raw,format=%s,width=%d,height=%d,framerate=%d/1",
                PixelFormat.I420.gstreamerName(),
                width,
                height,
                Math.round(fps)),
            "!",
            "fdsink",
            "fd=1"));
    return cmd;
  }
}
