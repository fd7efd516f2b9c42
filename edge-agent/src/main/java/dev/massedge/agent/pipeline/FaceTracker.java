package dev.massedge.agent.pipeline;

import dev.massedge.inference.face.Face;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Turns per-frame detections into enter/leave events: detections are matched to tracks by IoU; a
 * track is confirmed (entered) after {@code minHits} detections, and leaves when it has not been
 * seen for {@code leaveAfterSeconds}. A face in view for 10 s is one enter and one leave, not one
 * event per frame; a single missed detection does not end it.
 */
public final class FaceTracker {
  private final String pipeline;
  private final int minHits;
  private final double leaveAfter;
  private final float minIou;
  private final List<Track> tracks = new ArrayList<>();
  private long nextId = 1;
  private int lastCount;

  private static final class Track {
    final long id;
    Face face;
    int hits;
    boolean confirmed;
    double firstSeen;
    double lastSeen;

    Track(long id, Face face, double t) {
      this.id = id;
      this.face = face;
      this.hits = 1;
      this.firstSeen = t;
      this.lastSeen = t;
    }
  }

  public FaceTracker(String pipeline, int minHits, double leaveAfterSeconds, float minIou) {
    this.pipeline = pipeline;
    this.minHits = Math.max(1, minHits);
    this.leaveAfter = leaveAfterSeconds;
    this.minIou = minIou;
  }

  /** Feeds one frame's detections at stream time {@code t}; returns the events it causes. */
  public List<PipelineEvent> update(List<Face> faces, double t) {
    long now = System.currentTimeMillis();
    List<PipelineEvent> events = new ArrayList<>();
    List<Face> unmatched = new ArrayList<>(faces);
    for (Track tr : tracks) {
      Face best = null;
      float bestIou = minIou;
      for (Face f : unmatched) {
        float iou = tr.face.iou(f);
        if (iou >= bestIou) {
          best = f;
          bestIou = iou;
        }
      }
      if (best != null) {
        unmatched.remove(best);
        tr.face = best;
        tr.hits++;
        tr.lastSeen = t;
        if (!tr.confirmed && tr.hits >= minHits) {
          tr.confirmed = true;
          events.add(new PipelineEvent.FaceEntered(pipeline, tr.id, tr.firstSeen, now, best, null));
        }
      }
    }
    for (Face f : unmatched) {
      Track tr = new Track(nextId++, f, t);
      tracks.add(tr);
      if (minHits == 1) {
        tr.confirmed = true;
        events.add(new PipelineEvent.FaceEntered(pipeline, tr.id, t, now, f, null));
      }
    }
    for (Iterator<Track> it = tracks.iterator(); it.hasNext(); ) {
      Track tr = it.next();
      if (t - tr.lastSeen >= leaveAfter) {
        it.remove();
        if (tr.confirmed) {
          events.add(
              new PipelineEvent.FaceLeft(
                  pipeline, tr.id, tr.lastSeen, now, tr.lastSeen - tr.firstSeen));
        }
      }
    }
    int count = (int) tracks.stream().filter(x -> x.confirmed).count();
    if (count != lastCount) {
      lastCount = count;
      events.add(new PipelineEvent.FaceCount(pipeline, count, t, now));
    }
    return events;
  }

  /** Ends every track (the stream ended): the faces still in view leave. */
  public List<PipelineEvent> finish() {
    List<PipelineEvent> events = new ArrayList<>();
    long now = System.currentTimeMillis();
    for (Track tr : tracks) {
      if (tr.confirmed) {
        events.add(
            new PipelineEvent.FaceLeft(
                pipeline, tr.id, tr.lastSeen, now, tr.lastSeen - tr.firstSeen));
      }
    }
    tracks.clear();
    if (lastCount != 0) {
      lastCount = 0;
      events.add(new PipelineEvent.FaceCount(pipeline, 0, Double.NaN, now));
    }
    return events;
  }

  public int facesInView() {
    return lastCount;
  }
}
