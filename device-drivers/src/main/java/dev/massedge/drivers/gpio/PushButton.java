package dev.massedge.drivers.gpio;

import com.pi4j.io.gpio.digital.DigitalInput;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalInput;

/** A push button to ground (pull-up): a press is a falling edge. */
public final class PushButton {
  private final DigitalInput in;

  PushButton(DigitalInput in) {
    this.in = in;
  }

  public boolean pressed() {
    return in.state() == DigitalState.LOW;
  }

  public void onPress(Runnable listener) {
    in.addListener(
        e -> {
          if (e.state() == DigitalState.LOW) {
            listener.run();
          }
        });
  }

  /** Presses and releases on the mock platform. */
  public void simulatePress() {
    if (!(in instanceof MockDigitalInput mock)) {
      throw new IllegalStateException("only a mock GPIO input can be driven from code");
    }
    mock.mockState(DigitalState.LOW);
    mock.mockState(DigitalState.HIGH);
  }
}
