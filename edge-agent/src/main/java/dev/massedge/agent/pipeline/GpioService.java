package dev.massedge.agent.pipeline;

import dev.massedge.drivers.gpio.GpioBoard;
import dev.massedge.drivers.gpio.MotionSensor;
import dev.massedge.drivers.gpio.PushButton;
import dev.massedge.drivers.gpio.StatusLed;
import io.micronaut.context.annotation.Value;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The agent's GPIO header ({@code mass.gpio.provider}: {@code mock} by default, {@code auto} on a
 * device), opened on first use, and the pins the pipelines claimed, by name.
 */
@Singleton
public class GpioService implements AutoCloseable {
  private final String provider;
  private GpioBoard board;
  private final Map<String, MotionSensor> sensors = new LinkedHashMap<>();
  private final Map<String, PushButton> buttons = new LinkedHashMap<>();
  private final Map<String, StatusLed> leds = new LinkedHashMap<>();

  public GpioService(@Value("${mass.gpio.provider:mock}") String provider) {
    this.provider = provider;
  }

  private synchronized GpioBoard board() {
    if (board == null) {
      board = GpioBoard.of(provider);
    }
    return board;
  }

  public synchronized MotionSensor motionSensor(String id, int bcm) {
    MotionSensor s = board().motionSensor(id, bcm, 50);
    sensors.put(id, s);
    return s;
  }

  public synchronized PushButton button(String id, int bcm) {
    PushButton b = board().button(id, bcm, 20);
    buttons.put(id, b);
    return b;
  }

  public synchronized StatusLed led(String id, int bcm) {
    StatusLed l = board().led(id, bcm);
    leds.put(id, l);
    return l;
  }

  public synchronized MotionSensor sensor(String id) {
    return sensors.get(id);
  }

  public synchronized PushButton button(String id) {
    return buttons.get(id);
  }

  public synchronized StatusLed led(String id) {
    return leds.get(id);
  }

  @PreDestroy
  @Override
  public synchronized void close() {
    leds.values().forEach(StatusLed::close);
    if (board != null) {
      board.close();
    }
  }
}
