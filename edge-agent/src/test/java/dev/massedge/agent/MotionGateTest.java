package dev.massedge.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.massedge.agent.pipeline.MotionGate;
import dev.massedge.drivers.camera.Frame;
import dev.massedge.drivers.camera.PixelFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The frame-difference gate on frames made here: what is motion, what is noise or lighting. */
class MotionGateTest {
  static final int W = 640;
  static final int H = 480;
  long seq;

  /** A grey I420 frame with a bright square at (x, y), or none when x < 0; noise of ±amp. */
  Frame i420(int x, int y, int level, int amp, Random r) {
    byte[] px = new byte[PixelFormat.I420.frameBytes(W, H)];
    java.util.Arrays.fill(px, (byte) 128);
    for (int j = 0; j < H; j++) {
      for (int i = 0; i < W; i++) {
        int v = level + (amp == 0 ? 0 : r.nextInt(2 * amp + 1) - amp);
        if (x >= 0 && i >= x && i < x + 64 && j >= y && j < y + 64) {
          v = 230;
        }
        px[j * W + i] = (byte) Math.max(0, Math.min(255, v));
      }
    }
    return new Frame(seq++, seq / 10.0, System.nanoTime(), W, H, PixelFormat.I420, px);
  }

  Frame rgb(int x, int y, int level) {
    byte[] px = new byte[W * H * 3];
    for (int j = 0; j < H; j++) {
      for (int i = 0; i < W; i++) {
        int v = x >= 0 && i >= x && i < x + 64 && j >= y && j < y + 64 ? 230 : level;
        int o = (j * W + i) * 3;
        px[o] = (byte) v;
        px[o + 1] = (byte) v;
        px[o + 2] = (byte) v;
      }
    }
    return new Frame(seq++, seq / 10.0, System.nanoTime(), W, H, PixelFormat.RGB24, px);
  }

  @Test
  void aStillNoisyPictureIsNoMotionAndAMovingSquareIs() {
    MotionGate gate = new MotionGate(12, 0.005, 0.05);
    List<Boolean> changes = new ArrayList<>();
    gate.onChange(changes::add);
    Random r = new Random(7);
    for (int i = 0; i < 20; i++) {
      gate.onFrame(i420(-1, 0, 90, 8, r)); // sensor noise of ±8 levels on every pixel
    }
    assertThat(gate.active()).isFalse();
    assertThat(gate.motionFrames()).isZero();
    assertThat(gate.changed()).isLessThan(0.005);

    // a 64x64 square (about 1.3 % of the picture) crossing it
    for (int i = 0; i < 10; i++) {
      gate.onFrame(i420(40 + 50 * i, 200, 90, 8, r));
      assertThat(gate.active()).as("frame %d of the square moving", i).isTrue();
    }
    assertThat(changes).containsExactly(true);
    assertThat(gate.motionFrames()).isEqualTo(10);

    // the square stops: the background takes it in and the motion ends
    int still = 0;
    while (gate.active() && still < 200) {
      gate.onFrame(i420(490, 200, 90, 8, r));
      still++;
    }
    assertThat(gate.active()).isFalse();
    assertThat(still).isBetween(10, 100);
    assertThat(changes).containsExactly(true, false);
    assertThat(gate.lightingChanges()).isZero();
  }

  @Test
  void aLightSwitchedOnIsALightingChangeNotMotion() {
    MotionGate gate = new MotionGate(12, 0.005, 0.05);
    Random r = new Random(1);
    gate.onFrame(i420(-1, 0, 60, 0, r));
    gate.onFrame(i420(-1, 0, 60, 0, r));
    gate.onFrame(i420(-1, 0, 140, 0, r)); // the whole picture 80 levels brighter
    assertThat(gate.active()).isFalse();
    assertThat(gate.lightingChanges()).isEqualTo(1);
    // the new picture is the background at once: the next frames are still
    gate.onFrame(i420(-1, 0, 140, 0, r));
    assertThat(gate.changed()).isZero();
    // and motion after it is seen
    gate.onFrame(i420(100, 100, 140, 0, r));
    assertThat(gate.active()).isTrue();
  }

  @Test
  void rgbFramesAreReadAsBrightness() {
    MotionGate gate = new MotionGate(12, 0.005, 0.05);
    gate.onFrame(rgb(-1, 0, 50));
    gate.onFrame(rgb(-1, 0, 50));
    assertThat(gate.active()).isFalse();
    gate.onFrame(rgb(300, 300, 50));
    assertThat(gate.active()).isTrue();
    assertThat(gate.changed()).isBetween(0.01, 0.03);
  }

  @Test
  void settingsOutOfRangeAreRefusedClearly() {
    assertThatThrownBy(() -> new MotionGate(0, 0.01, 0.05)).hasMessageContaining("threshold");
    assertThatThrownBy(() -> new MotionGate(12, 0.95, 0.05))
        .hasMessageContaining("motion area must be a fraction");
    assertThatThrownBy(() -> new MotionGate(12, 0.01, 0)).hasMessageContaining("alpha");
  }

  @Test
  void oddSizesHavePartialCellsAtTheEdges() {
    // 75x45: 10x6 cells, the last column of cells 3 pixels wide, the last row 5 pixels high
    int w = 75;
    int h = 45;
    byte[] still = new byte[PixelFormat.I420.frameBytes(w, h)];
    java.util.Arrays.fill(still, (byte) 100);
    byte[] corner = still.clone();
    for (int y = 40; y < h; y++) {
      for (int x = 72; x < w; x++) {
        corner[y * w + x] = (byte) 200; // only the bottom-right partial cell
      }
    }
    MotionGate gate = new MotionGate(12, 0.005, 0.05);
    gate.onFrame(new Frame(0, 0, 0, w, h, PixelFormat.I420, still));
    gate.onFrame(new Frame(1, 0, 0, w, h, PixelFormat.I420, still));
    assertThat(gate.changed()).isZero();
    gate.onFrame(new Frame(2, 0, 0, w, h, PixelFormat.I420, corner));
    assertThat(gate.changed()).isEqualTo(1.0 / 60);
    assertThat(gate.active()).isTrue();
  }
}
