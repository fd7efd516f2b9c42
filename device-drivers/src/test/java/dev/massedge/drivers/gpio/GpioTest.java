package dev.massedge.drivers.gpio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** On Pi4J's mock platform. */
class GpioTest {
  @Test
  void motionSensorReportsChanges() {
    try (GpioBoard board = GpioBoard.mock()) {
      MotionSensor pir = board.motionSensor("pir", 17, 0);
      List<Boolean> seen = new ArrayList<>();
      pir.onChange(seen::add);
      pir.simulate(true);
      assertThat(pir.motion()).isTrue();
      pir.simulate(false);
      assertThat(seen).containsExactly(true, false);
    }
  }

  @Test
  void buttonPressesAndRelay() {
    try (GpioBoard board = GpioBoard.mock()) {
      PushButton ptt = board.button("ptt", 27, 0);
      AtomicInteger presses = new AtomicInteger();
      ptt.onPress(presses::incrementAndGet);
      ptt.simulatePress();
      ptt.simulatePress();
      assertThat(presses).hasValue(2);
      Relay door = board.relay("door", 5);
      door.set(true);
      assertThat(door.on()).isTrue();
    }
  }

  @Test
  void ledPatternsBlinkAndSteadyStatesHold() {
    try (GpioBoard board = GpioBoard.mock();
        StatusLed led = board.led("led", 22)) {
      led.show(StatusLed.Pattern.ON);
      assertThat(led.lit()).isTrue();
      led.show(StatusLed.Pattern.BOOTING);
      // it blinks: both states are seen within a second
      await().atMost(Duration.ofSeconds(2)).until(led::lit);
      await().atMost(Duration.ofSeconds(2)).until(() -> !led.lit());
      led.show(StatusLed.Pattern.OFF);
      assertThat(led.lit()).isFalse();
    }
  }

  @Test
  void wrongPinsAndProvidersSayWhich() {
    try (GpioBoard board = GpioBoard.mock()) {
      assertThatThrownBy(() -> board.motionSensor("pir", 99, 0))
          .hasMessageContaining("BCM pin 99")
          .hasMessageContaining("0-27");
      board.relay("door", 5);
      assertThatThrownBy(() -> board.led("led", 5)).hasMessageContaining("already used by door");
    }
    assertThatThrownBy(() -> GpioBoard.of("wiringpi")).hasMessageContaining("mock, auto");
  }
}
