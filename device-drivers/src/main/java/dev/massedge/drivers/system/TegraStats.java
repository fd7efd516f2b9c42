package dev.massedge.drivers.system;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * NVIDIA Jetson's {@code tegrastats}, read as a running subprocess ({@code tegrastats --interval
 * ms}): the latest line, parsed into metrics — RAM and swap in MB, per-core CPU load (%) and
 * frequency (MHz), GPU load ({@code GR3D_FREQ}, %), memory controller load ({@code EMC_FREQ}),
 * every temperature sensor (°C; the {@code -256} of an absent sensor left out) and every power
 * rail's current draw (mW; both the older {@code 2035/2035} and the Orin {@code 2390mW/2390mW}
 * forms). Absent on other machines: {@link #start} returns null when the program is not there.
 */
public final class TegraStats implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TegraStats.class);
  private static final Pattern RAM = Pattern.compile("\\bRAM (\\d+)/(\\d+)MB");
  private static final Pattern SWAP = Pattern.compile("\\bSWAP (\\d+)/(\\d+)MB");
  private static final Pattern CPU = Pattern.compile("\\bCPU \\[([^\\]]*)\\]");
  private static final Pattern CORE = Pattern.compile("(\\d+)%@(\\d+)");
  private static final Pattern LOAD = Pattern.compile("\\b(GR3D_FREQ|EMC_FREQ) (\\d+)%");
  private static final Pattern TEMP =
      Pattern.compile("\\b([A-Za-z0-9_]+)@(-?\\d+(?:\\.\\d+)?)C\\b");
  private static final Pattern POWER =
      Pattern.compile("\\b([A-Z][A-Z0-9_]+) (\\d+)(?:mW)?/(\\d+)(?:mW)?(?=\\s|$)");

  private final Process process;
  private volatile Map<String, Double> latest = Map.of();
  private volatile long lines;

  private TegraStats(Process process) {
    this.process = process;
    Thread t = new Thread(this::read, "tegrastats");
    t.setDaemon(true);
    t.start();
  }

  /**
   * Starts {@code program} ({@code tegrastats}, looked up on the PATH and in /usr/bin, or a path)
   * with the interval; null when it is not there (not a Jetson).
   */
  public static TegraStats start(String program, long intervalMillis) {
    String exe = find(program);
    if (exe == null) {
      return null;
    }
    try {
      Process p =
          new ProcessBuilder(exe, "--interval", Long.toString(Math.max(100, intervalMillis)))
              .redirectErrorStream(true)
              .start();
      return new TegraStats(p);
    } catch (IOException e) {
      log.warn("tegrastats ({}) did not start: {}", exe, e.getMessage());
      return null;
    }
  }

  static String find(String program) {
    if (program.contains("/")) {
      return Files.isExecutable(Path.of(program)) ? program : null;
    }
    List<String> dirs = new ArrayList<>();
    String path = System.getenv("PATH");
    if (path != null) {
      dirs.addAll(List.of(path.split(":")));
    }
    dirs.add("/usr/bin");
    for (String d : dirs) {
      Path p = Path.of(d.isEmpty() ? "." : d, program);
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    return null;
  }

  private void read() {
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        Map<String, Double> m = parse(line);
        if (!m.isEmpty()) {
          latest = m;
          lines++;
        }
      }
    } catch (IOException e) {
      // the process ended
    }
    log.warn("tegrastats stopped (exit {})", process.isAlive() ? "?" : process.exitValue());
  }

  /** The metrics of the latest line (empty before the first). */
  public Map<String, Double> latest() {
    return latest;
  }

  /** Lines parsed so far. */
  public long lines() {
    return lines;
  }

  /** One tegrastats line as metrics: {@code jetson.ram_used_mb}, {@code jetson.cpu0.load_pct} … */
  public static Map<String, Double> parse(String line) {
    Map<String, Double> m = new LinkedHashMap<>();
    Matcher r = RAM.matcher(line);
    if (r.find()) {
      m.put("jetson.ram_used_mb", Double.parseDouble(r.group(1)));
      m.put("jetson.ram_total_mb", Double.parseDouble(r.group(2)));
    }
    Matcher s = SWAP.matcher(line);
    if (s.find()) {
      m.put("jetson.swap_used_mb", Double.parseDouble(s.group(1)));
    }
    Matcher c = CPU.matcher(line);
    if (c.find()) {
      String[] cores = c.group(1).split(",");
      for (int i = 0; i < cores.length; i++) {
        Matcher k = CORE.matcher(cores[i]);
        if (k.find()) { // an offline core reads "off"
          m.put("jetson.cpu" + i + ".load_pct", Double.parseDouble(k.group(1)));
          m.put("jetson.cpu" + i + ".freq_mhz", Double.parseDouble(k.group(2)));
        }
      }
    }
    Matcher l = LOAD.matcher(line);
    while (l.find()) {
      String what = l.group(1).equals("GR3D_FREQ") ? "gpu" : "emc";
      m.put("jetson." + what + ".load_pct", Double.parseDouble(l.group(2)));
    }
    // temperatures after the CPU list, so "CPU@45.9C" is not a core
    Matcher t = TEMP.matcher(c.find(0) ? line.substring(c.end()) : line);
    while (t.find()) {
      double v = Double.parseDouble(t.group(2));
      if (v > -200) {
        m.put("jetson.temp." + t.group(1).toLowerCase(Locale.ROOT) + "_c", v);
      }
    }
    Matcher p = POWER.matcher(line);
    while (p.find()) {
      if (p.group(1).equals("RAM") || p.group(1).equals("SWAP")) {
        continue;
      }
      m.put(
          "jetson.power." + p.group(1).toLowerCase(Locale.ROOT) + "_mw",
          Double.parseDouble(p.group(2)));
    }
    return m;
  }

  @Override
  public void close() {
    process.destroy();
  }
}
