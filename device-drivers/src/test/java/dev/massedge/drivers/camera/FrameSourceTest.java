package dev.massedge.drivers.camera;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.massedge.drivers.Media;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FrameSourceTest {
  static List<Frame> drain(FrameSource s, long pauseMs) throws InterruptedException {
    List<Frame> frames = new ArrayList<>();
    Frame f;
    while ((f = s.next(Duration.ofSeconds(10))) != null) {
      frames.add(f);
      if (pauseMs > 0) {
        Thread.sleep(pauseMs);
      }
    }
    return frames;
  }

  /** A 320x240, 25 fps video of ffmpeg's test pattern. */
  static Path testVideo(Path dir, int seconds) {
    return Media.ffmpeg(
        dir.resolve("t.mp4"),
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25",
        "-t",
        Integer.toString(seconds),
        "-pix_fmt",
        "yuv420p");
  }

  @Test
  void aVideoFilePlaysAtItsRateAndEnds(@TempDir Path tmp) throws Exception {
    Path video = testVideo(tmp, 2);
    try (ProcessFrameSource s =
        FrameSources.ffmpeg("test", video.toString(), List.of(), 160, 120, 10)) {
      s.start();
      List<Frame> frames = drain(s, 0);
      FrameSource.Stats st = s.stats();
      assertThat(st.state()).isEqualTo(FrameSource.State.ENDED);
      assertThat(frames).hasSizeBetween(18, 21);
      assertThat(frames.get(0).format()).isEqualTo(PixelFormat.I420);
      assertThat(frames.get(0).pixels()).hasSize(160 * 120 + 2 * 80 * 60);
      assertThat(frames.get(frames.size() - 1).streamSeconds()).isBetween(1.7, 2.05);
      assertThat(st.captured()).isEqualTo(st.taken() + st.dropped());
      assertThat(st.restarts()).isZero();
    }
  }

  @Test
  void aSlowConsumerGetsTheLatestFrameAndDropsAreCounted(@TempDir Path tmp) throws Exception {
    Path video = testVideo(tmp, 2);
    try (ProcessFrameSource s =
        FrameSources.ffmpeg("slow", video.toString(), List.of(), 160, 120, 20)) {
      s.start();
      List<Frame> frames = drain(s, 150);
      FrameSource.Stats st = s.stats();
      assertThat(st.dropped()).isGreaterThan(10);
      assertThat(st.captured()).isEqualTo(st.taken() + st.dropped());
      assertThat(frames).hasSize((int) st.taken());
      // never queued: the consumer skips ahead to the newest frame
      long jumps = 0;
      for (int i = 1; i < frames.size(); i++) {
        if (frames.get(i).sequence() - frames.get(i - 1).sequence() > 1) {
          jumps++;
        }
      }
      assertThat(jumps).isGreaterThan(frames.size() / 2);
    }
  }

  @Test
  void anUnpacedFileDropsNothingAndGoesAtTheConsumersPace(@TempDir Path tmp) throws Exception {
    Path video = testVideo(tmp, 2);
    try (ProcessFrameSource s =
        FrameSources.videoFileUnpaced("offline", video.toString(), List.of(), 160, 120, 25)) {
      s.start();
      List<Frame> frames = drain(s, 20);
      assertThat(frames).hasSizeBetween(49, 51);
      assertThat(s.stats().dropped()).isZero();
      for (int i = 1; i < frames.size(); i++) {
        assertThat(frames.get(i).sequence()).isEqualTo(frames.get(i - 1).sequence() + 1);
      }
    }
  }

  @Test
  void aKilledCameraProcessRestartsAndResumesWhereItWas(@TempDir Path tmp) throws Exception {
    Path video = testVideo(tmp, 4);
    try (ProcessFrameSource s =
        FrameSources.ffmpeg("killed", video.toString(), List.of(), 160, 120, 10)) {
      s.start();
      List<Frame> frames = new ArrayList<>();
      while (frames.size() < 10) {
        frames.add(s.next(Duration.ofSeconds(10)));
      }
      s.process().destroyForcibly();
      frames.addAll(drain(s, 0));
      FrameSource.Stats st = s.stats();
      assertThat(st.restarts()).isEqualTo(1);
      assertThat(st.lastError()).contains("exit code");
      assertThat(st.state()).isEqualTo(FrameSource.State.ENDED);
      // resumed, not replayed: stream time keeps going up and ends near 4 s
      for (int i = 1; i < frames.size(); i++) {
        assertThat(frames.get(i).streamSeconds()).isGreaterThan(frames.get(i - 1).streamSeconds());
      }
      assertThat(frames.get(frames.size() - 1).streamSeconds()).isBetween(3.5, 4.3);
    }
  }

  @Test
  void aCameraThatDoesNotExistSaysWhyAndKeepsTrying() {
    try (ProcessFrameSource s =
        FrameSources.ffmpeg(
            "ghost", "rtsp://127.0.0.1:9/none", List.of("-rtsp_transport", "tcp"), 160, 120, 10)) {
      s.start();
      await().atMost(Duration.ofSeconds(20)).until(() -> s.stats().restarts() >= 2);
      assertThat(s.stats().state()).isIn(FrameSource.State.RESTARTING, FrameSource.State.STARTING);
      assertThat(s.stats().lastError()).containsIgnoringCase("connection refused");
      assertThat(s.stats().captured()).isZero();
    }
  }

  @Test
  void anImageFolderIsACamera(@TempDir Path tmp) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("images"));
    Media.ffmpeg(dir.resolve("a.png"), "-i", Media.file("astronaut.png").toString());
    Media.ffmpeg(dir.resolve("b.png"), "-i", Media.file("camera.png").toString());
    try (ProcessFrameSource s = FrameSources.imageFolder("folder", dir, 128, 128, 5)) {
      s.start();
      assertThat(drain(s, 0)).hasSize(2);
    }
    assertThatThrownBy(() -> FrameSources.imageFolder("x", tmp.resolve("nope"), 128, 128, 5))
        .hasMessageContaining("does not exist");
  }

  @Test
  void gstreamerPipelinesEndInRawI420OnStandardOutput() {
    List<String> cmd =
        FrameSources.gstreamerCommand("nvarguscamerasrc sensor-id=0 ! nvvidconv", 640, 480, 15);
    assertThat(String.join(" ", cmd))
        .startsWith("gst-launch-1.0 -q nvarguscamerasrc sensor-id=0 ! nvvidconv ! videoconvert")
        .contains("video/x-raw,format=I420,width=640,height=480,framerate=15/1")
        .endsWith("fdsink fd=1");
    assertThatThrownBy(() -> FrameSources.ffmpeg("bad", "x.mp4", List.of(), 0, 480, 15))
        .hasMessageContaining("width, height and fps");
    // GStreamer would pad 426-pixel I420 rows to 428 and 213-byte chroma rows to 216
    assertThatThrownBy(() -> FrameSources.gstreamer("csi", "videotestsrc", 426, 240, 15))
        .hasMessageContaining("camera 'csi'")
        .hasMessageContaining("multiple of 8");
    assertThat(FrameSources.gstreamer("csi", "videotestsrc", 424, 240, 15).name()).isEqualTo("csi");
  }
}
