package dev.massedge.agent.pipeline;

import dev.massedge.drivers.camera.Frame;
import dev.massedge.drivers.gpio.MotionSensor;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * What opens a camera pipeline: a PIR on GPIO, a sensor node reporting over CoAP, or motion in the
 * picture itself ({@link MotionGate}).
 */
public interface Gate {
  boolean active();

  /** Sees every frame before the gate is consulted (gates that watch the picture). */
  default void onFrame(Frame frame) {}

  void onChange(Consumer<Boolean> listener);

  static Gate of(MotionSensor pir) {
    return new Gate() {
      @Override
      public boolean active() {
        return pir.motion();
      }

      @Override
      public void onChange(Consumer<Boolean> listener) {
        pir.onChange(listener);
      }
    };
  }

  /** A gate driven by events (a CoAP sensor's POSTs). */
  final class Remote implements Gate {
    private volatile boolean active;
    private final List<Consumer<Boolean>> listeners = new CopyOnWriteArrayList<>();

    public void set(boolean state) {
      active = state;
      listeners.forEach(l -> l.accept(state));
    }

    @Override
    public boolean active() {
      return active;
    }

    @Override
    public void onChange(Consumer<Boolean> listener) {
      listeners.add(listener);
    }
  }
}
