package dev.massedge.drivers.gpio;

import com.pi4j.io.gpio.digital.DigitalOutput;
import com.pi4j.io.gpio.digital.DigitalState;

/** A relay (door strike, light) on a GPIO output. */
public final class Relay {
  private final DigitalOutput out;

  Relay(DigitalOutput out) {
    this.out = out;
  }

  public void set(boolean on) {
    out.state(on ? DigitalState.HIGH : DigitalState.LOW);
  }

  public boolean on() {
    return out.state() == DigitalState.HIGH;
  }
}
