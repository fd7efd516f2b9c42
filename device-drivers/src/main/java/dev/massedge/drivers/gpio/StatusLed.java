package dev.massedge.drivers.gpio;

import com.pi4j.io.gpio.digital.DigitalOutput;
import com.pi4j.io.gpio.digital.DigitalState;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A status LED: steady on or off, or a pattern — booting (fast blink), updating (slow blink), error
 * (double blink) — played by a timer thread.
 */
public final class StatusLed implements AutoCloseable {
  public enum Pattern {
    OFF(new long[0], false),
    ON(new long[0], true),
    BOOTING(new long[] {100, 100}, false),
    UPDATING(new long[] {500, 500}, false),
    ERROR(new long[] {100, 100, 100, 700}, false);

    final long[] phasesMs;
    final boolean steady;

    Pattern(long[] phasesMs, boolean steady) {
      this.phasesMs = phasesMs;
      this.steady = steady;
    }
  }

  private final DigitalOutput out;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "status-led");
            t.setDaemon(true);
            return t;
          });
  private ScheduledFuture<?> running;
  private volatile Pattern pattern = Pattern.OFF;

  StatusLed(DigitalOutput out) {
    this.out = out;
  }

  public synchronized void show(Pattern p) {
    if (running != null) {
      running.cancel(false);
      running = null;
    }
    pattern = p;
    if (p.phasesMs.length == 0) {
      out.state(p.steady ? DigitalState.HIGH : DigitalState.LOW);
      return;
    }
    long period = 0;
    for (long ms : p.phasesMs) {
      period += ms;
    }
    final long total = period;
    final long start = System.nanoTime();
    running =
        timer.scheduleAtFixedRate(
            () -> {
              long t = ((System.nanoTime() - start) / 1_000_000) % total;
              boolean on = false;
              for (int i = 0; i < p.phasesMs.length; i++) {
                if (t < p.phasesMs[i]) {
                  on = i % 2 == 0;
                  break;
                }
                t -= p.phasesMs[i];
              }
              out.state(on ? DigitalState.HIGH : DigitalState.LOW);
            },
            0,
            20,
            TimeUnit.MILLISECONDS);
  }

  public Pattern pattern() {
    return pattern;
  }

  public boolean lit() {
    return out.state() == DigitalState.HIGH;
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
