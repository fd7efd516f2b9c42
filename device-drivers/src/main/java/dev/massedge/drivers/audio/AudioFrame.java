package dev.massedge.drivers.audio;

/**
 * A fixed-size block of mono samples in [-1, 1].
 *
 * @param index 0, 1, 2... from the start of the source
 * @param startSeconds the first sample's position in the stream
 */
public record AudioFrame(long index, double startSeconds, float[] samples) {}
