package dev.massedge.drivers.camera;

/**
 * One video frame.
 *
 * @param sequence 0, 1, 2... over the source's whole life, restarts included
 * @param streamSeconds position in the stream (restarts of a seekable input resume from it)
 * @param capturedNanos {@link System#nanoTime()} when the frame was read from the camera process
 * @param pixels the frame in {@code format} ({@link PixelFormat#frameBytes} bytes)
 */
public record Frame(
    long sequence,
    double streamSeconds,
    long capturedNanos,
    int width,
    int height,
    PixelFormat format,
    byte[] pixels) {}
