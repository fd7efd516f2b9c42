package dev.massedge.drivers.gpio;

import com.pi4j.Pi4J;
import com.pi4j.context.Context;
import com.pi4j.io.gpio.digital.DigitalInput;
import com.pi4j.io.gpio.digital.DigitalOutput;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.io.gpio.digital.PullResistance;
import com.pi4j.plugin.mock.platform.MockPlatform;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalInputProvider;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalOutputProvider;
import java.util.HashMap;
import java.util.Map;

/**
 * The GPIO header through Pi4J 2: pins by BCM number, on a provider chosen in configuration ({@code
 * mock} — the embedded default and the tests — or the plugins Pi4J finds on the device: {@code
 * gpiod}, {@code linuxfs}, {@code raspberrypi}). Each pin is claimed once; a second claim or a pin
 * off the header is an error that says which.
 */
public final class GpioBoard implements AutoCloseable {
  /** BCM numbers on the 40-pin header. */
  public static final int MAX_BCM = 27;

  private final Context pi4j;
  private final String provider;
  private final Map<Integer, String> claimed = new HashMap<>();

  private GpioBoard(Context pi4j, String provider) {
    this.pi4j = pi4j;
    this.provider = provider;
  }

  /** Pi4J's mock platform: no hardware; inputs are driven from code. */
  public static GpioBoard mock() {
    return new GpioBoard(
        Pi4J.newContextBuilder()
            .add(new MockPlatform())
            .add(MockDigitalInputProvider.newInstance(), MockDigitalOutputProvider.newInstance())
            .build(),
        "mock");
  }

  /** The providers Pi4J finds on the class path (a device build carries gpiod/linuxfs). */
  public static GpioBoard auto() {
    return new GpioBoard(Pi4J.newAutoContext(), "auto");
  }

  public static GpioBoard of(String provider) {
    return switch (provider) {
      case "mock" -> mock();
      case "auto", "gpiod", "linuxfs", "raspberrypi" -> auto();
      default ->
          throw new IllegalArgumentException(
              "GPIO provider '"
                  + provider
                  + "' is unknown; use mock, auto, gpiod, linuxfs or raspberrypi");
    };
  }

  public String provider() {
    return provider;
  }

  private void claim(int bcm, String what) {
    if (bcm < 0 || bcm > MAX_BCM) {
      throw new IllegalArgumentException(
          what + ": BCM pin " + bcm + " is not on the header (BCM 0-" + MAX_BCM + ")");
    }
    String other = claimed.putIfAbsent(bcm, what);
    if (other != null) {
      throw new IllegalArgumentException(
          what + ": BCM pin " + bcm + " is already used by " + other);
    }
  }

  DigitalInput input(String id, int bcm, long debounceMicros, PullResistance pull) {
    claim(bcm, id);
    var cfg =
        com.pi4j.io.gpio.digital.DigitalInput.newConfigBuilder(pi4j)
            .id(id)
            .name(id)
            .address(bcm)
            .pull(pull)
            .debounce(debounceMicros);
    if (provider.equals("mock")) {
      cfg.provider(MockDigitalInputProvider.ID);
    }
    return pi4j.create(cfg);
  }

  DigitalOutput output(String id, int bcm) {
    claim(bcm, id);
    var cfg =
        com.pi4j.io.gpio.digital.DigitalOutput.newConfigBuilder(pi4j)
            .id(id)
            .name(id)
            .address(bcm)
            .initial(DigitalState.LOW)
            .shutdown(DigitalState.LOW);
    if (provider.equals("mock")) {
      cfg.provider(MockDigitalOutputProvider.ID);
    }
    return pi4j.create(cfg);
  }

  /** A PIR motion sensor (or a door contact): high = motion. */
  public MotionSensor motionSensor(String id, int bcm, long debounceMillis) {
    return new MotionSensor(input(id, bcm, debounceMillis * 1000, PullResistance.PULL_DOWN));
  }

  /** A push button wired to ground with the internal pull-up: pressed = low. */
  public PushButton button(String id, int bcm, long debounceMillis) {
    DigitalInput in = input(id, bcm, debounceMillis * 1000, PullResistance.PULL_UP);
    if (in instanceof com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalInput mock) {
      mock.mockState(DigitalState.HIGH); // released, as the pull-up holds it
    }
    return new PushButton(in);
  }

  public StatusLed led(String id, int bcm) {
    return new StatusLed(output(id, bcm));
  }

  public Relay relay(String id, int bcm) {
    return new Relay(output(id, bcm));
  }

  @Override
  public void close() {
    pi4j.shutdown();
  }
}
