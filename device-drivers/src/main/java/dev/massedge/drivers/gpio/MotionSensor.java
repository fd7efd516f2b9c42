package dev.massedge.drivers.gpio;

import com.pi4j.io.gpio.digital.DigitalInput;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalInput;
import java.util.function.Consumer;

/** A PIR sensor on a GPIO input (debounced by Pi4J): high while it sees motion. */
public final class MotionSensor {
  private final DigitalInput in;

  MotionSensor(DigitalInput in) {
    this.in = in;
  }

  public boolean motion() {
    return in.state() == DigitalState.HIGH;
  }

  public void onChange(Consumer<Boolean> listener) {
    in.addListener(e -> listener.accept(e.state() == DigitalState.HIGH));
  }

  /** Drives the pin on the mock platform (tests, the demo); refused on real hardware. */
  public void simulate(boolean motion) {
    if (!(in instanceof MockDigitalInput mock)) {
      throw new IllegalStateException("only a mock GPIO input can be driven from code");
    }
    mock.mockState(motion ? DigitalState.HIGH : DigitalState.LOW);
  }
}
