package dev.massedge.drivers.camera;

/**
 * One video frame as packed 8-bit RGB ({@code rgb[(y * width + x) * 3 + c]}).
 *
 * @param sequence 0, 1, 2... over the source's whole life, restarts included
 * @param streamSeconds position in the stream (restarts of a seekable input resume from it)
 * @param capturedNanos {@link System#nanoTime()} when the frame was read from the camera process
 */
public record Frame(
    long sequence, double streamSeconds, long capturedNanos, int width, int height, byte[] rgb) {}
