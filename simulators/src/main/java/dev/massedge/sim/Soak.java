package dev.massedge.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The soak and accuracy benchmark ({@code ./mass bench soak [--minutes N]}): one packaged agent
 * with a face pipeline and a voice pipeline on looping synthetic recordings, syncing with the
 * packaged bridge (embedded broker and database), for N minutes (30 by default). Every 15 s it
 * samples the agent's RSS, heap (used and old generation, from {@code jstat}), threads and open
 * files; at the end it compares the first and the last fifth of the run and fits a slope. The
 * events the agent delivered through its outbox to the bridge are scored against the recordings'
 * ground truth: faces entering and leaving, wake words (several espeak voices and speeds) and
 * non-wake phrases. Writes {@code target/soak/soak.csv} and {@code target/soak/report.md}.
 */
public final class Soak {
  static final ObjectMapper JSON = new ObjectMapper();

  /** The camera loop: the face in view during these seconds of each 60 s. */
  static final List<SyntheticMedia.Appearance> FACES =
      List.of(
          new SyntheticMedia.Appearance(4, 14),
          new SyntheticMedia.Appearance(22, 30),
          new SyntheticMedia.Appearance(38, 52));

  /** The microphone loop: text, voice, words per minute, at (s), wake word or not. */
  record Spoken(String text, String voice, int wpm, double at, boolean wake) {}

  static final List<Spoken> PHRASES =
      List.of(
          new Spoken("hey jarvis", "en-us", 175, 3, true),
          new Spoken("what is the weather like today", "en-us", 175, 8, false),
          new Spoken("hey jarvis", "en-gb", 160, 16, true),
          new Spoken("alexa", "en-us", 175, 22, false),
          new Spoken("hey jarvis", "en-us+f3", 150, 28, true),
          new Spoken("hey marvin", "en-us", 175, 35, false),
          new Spoken("hey jarvis", "en-gb-x-rp", 200, 41, true),
          new Spoken("please stop the music", "en-gb", 175, 47, false),
          new Spoken("hey jarvis", "en-us+m3", 130, 53, true));

  static final double LOOP = 60;

  private Soak() {}

  public static void main(String[] args) throws Exception {
    double minutes = Double.parseDouble(option(args, "--minutes", "30"));
    Path root = Path.of(option(args, "--root", ".")).toAbsolutePath().normalize();
    System.exit(run(root, minutes, System.out));
  }

  static String option(String[] args, String name, String d) {
    for (int i = 0; i + 1 < args.length; i++) {
      if (args[i].equals(name)) {
        return args[i + 1];
      }
    }
    return d;
  }

  record Sample(double minute, double rssMb, double heapMb, double oldMb, int threads, int files) {}

  static int run(Path root, double minutes, PrintStream out) throws Exception {
    Path dir = root.resolve("target/soak");
    dev.massedge.sync.io.Durable.deleteTree(dir.resolve("run"));
    Path media = Files.createDirectories(dir.resolve("media"));
    Path cam = media.resolve("soak-camera.mp4");
    if (!Files.exists(cam)) {
      SyntheticMedia.camera(cam, root.resolve("media/astronaut.png"), LOOP, 10, FACES);
    }
    Path mic = media.resolve("soak-microphone.wav");
    if (!Files.exists(mic)) {
      List<SyntheticMedia.Phrase> ps = new ArrayList<>();
      for (Spoken s : PHRASES) {
        ps.add(
            new SyntheticMedia.Phrase(
                SyntheticMedia.speak(media.resolve("speech"), s.text(), s.voice(), s.wpm()),
                s.at(),
                s.wake()));
      }
      SyntheticMedia.microphone(mic, LOOP, ps);
    }
    JsonNode micTruth = JSON.readTree(media.resolve("soak-microphone.truth.json").toFile());

    FleetProcesses fleet = new FleetProcesses(root);
    Path run = Files.createDirectories(dir.resolve("run"));
    int mqtt = FleetProcesses.freePort();
    try (FleetProcesses.Running bridge =
        fleet.bridge(run.resolve("bridge"), Map.of("mass.bridge.mqtt-port", "" + mqtt))) {
      bridge.awaitHttp("/health", Duration.ofSeconds(90));
      BridgeClient api =
          new BridgeClient(
              bridge.url(), Files.readString(run.resolve("bridge/admin-token")).trim());
      String key = api.get("/api/v1/fleet-key").path("publicKey").asText();
      Map<String, String> p = new LinkedHashMap<>();
      p.put("mass.sync.url", "tcp://127.0.0.1:" + mqtt);
      p.put("mass.sync.trusted-keys", key);
      p.put("mass.pipelines.door.kind", "camera");
      p.put("mass.pipelines.door.source", "ffmpeg");
      p.put("mass.pipelines.door.input", cam.toString());
      p.put("mass.pipelines.door.input-options", "-re,-stream_loop,-1");
      p.put("mass.pipelines.door.fps", "5");
      p.put("mass.pipelines.door.model", "face-short");
      p.put("mass.pipelines.kiosk.kind", "voice");
      p.put("mass.pipelines.kiosk.source", "ffmpeg");
      p.put("mass.pipelines.kiosk.input", mic.toString());
      p.put("mass.pipelines.kiosk.input-options", "-re,-stream_loop,-1");
      p.put(
          "mass.pipelines.kiosk.wake-word-dir",
          root.resolve("models/demo-only/openwakeword").toString());
      p.put("mass.pipelines.kiosk.wake-words", "hey_jarvis_v0.1");
      try (FleetProcesses.Running agent = fleet.agent("soak-1", run.resolve("soak-1"), p)) {
        agent.awaitHttp("/v2/health/ready", Duration.ofSeconds(120));
        long pid = agent.process().pid();
        out.printf(
            Locale.ROOT,
            "soak: agent pid %d (face + voice pipelines, syncing with the bridge) for %.1f min%n",
            pid,
            minutes);
        List<Sample> samples = new ArrayList<>();
        long start = System.nanoTime();
        long end = start + (long) (minutes * 60e9);
        Path csv = dir.resolve("soak.csv");
        Files.writeString(csv, "minute,rss_mb,heap_used_mb,old_gen_mb,threads,open_files\n");
        while (System.nanoTime() < end) {
          Sample s = sample(pid, (System.nanoTime() - start) / 60e9);
          samples.add(s);
          Files.writeString(
              csv,
              String.format(
                  Locale.ROOT,
                  "%.2f,%.1f,%.1f,%.1f,%d,%d%n",
                  s.minute(),
                  s.rssMb(),
                  s.heapMb(),
                  s.oldMb(),
                  s.threads(),
                  s.files()),
              java.nio.file.StandardOpenOption.APPEND);
          if (samples.size() % 8 == 1) {
            out.printf(
                Locale.ROOT,
                "  %5.1f min  RSS %.0f MB  heap %.0f MB (old %.0f)  threads %d  files %d%n",
                s.minute(),
                s.rssMb(),
                s.heapMb(),
                s.oldMb(),
                s.threads(),
                s.files());
          }
          Thread.sleep(15_000);
        }
        if (!agent.process().isAlive()) {
          throw new IOException("the agent died during the soak:\n" + agent.tail());
        }
        // the outbox drains, then the events are scored
        Thread.sleep(3000);
        List<JsonNode> events = new ArrayList<>();
        for (JsonNode e : api.get("/api/v1/devices/soak-1/events?limit=10000")) {
          events.add(JSON.readTree(e.path("body").asText()));
        }
        String report = report(samples, events, micTruth, minutes);
        Files.writeString(dir.resolve("report.md"), report);
        out.println();
        out.print(report);
        out.println("(" + csv + ", " + dir.resolve("report.md") + ")");
      }
    }
    return 0;
  }

  static Sample sample(long pid, double minute) throws IOException, InterruptedException {
    Map<String, String> status = new LinkedHashMap<>();
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      int c = line.indexOf(':');
      if (c > 0) {
        status.put(line.substring(0, c), line.substring(c + 1).trim());
      }
    }
    double rss = Double.parseDouble(status.get("VmRSS").split("\\s+")[0]) / 1024;
    int threads = Integer.parseInt(status.get("Threads"));
    int files;
    try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      files = (int) fds.count();
    }
    // jstat -gc: S0C S1C S0U S1U EC EU OC OU ... (kB)
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "jstat").toString(),
                "-gc",
                Long.toString(pid))
            .redirectErrorStream(true)
            .start();
    List<String> lines = new String(p.getInputStream().readAllBytes()).lines().toList();
    p.waitFor(10, TimeUnit.SECONDS);
    double heap = Double.NaN;
    double old = Double.NaN;
    if (lines.size() >= 2) {
      List<String> h = Arrays.asList(lines.get(0).trim().split("\\s+"));
      String[] v = lines.get(1).trim().split("\\s+");
      double used = 0;
      for (String col : List.of("S0U", "S1U", "EU", "OU")) {
        used += Double.parseDouble(v[h.indexOf(col)]);
      }
      heap = used / 1024;
      old = Double.parseDouble(v[h.indexOf("OU")]) / 1024;
    }
    return new Sample(minute, rss, heap, old, threads, files);
  }

  /** A matched event: the truth it belongs to, the error in seconds. */
  record Score(int expected, int hits, int misses, int falses, List<Double> errors) {
    String row(String what) {
      double mean = errors.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
      double max = errors.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
      return String.format(
          Locale.ROOT,
          "| %s | %d | %d | %d | %d | %.1f %% | %.2f / %.2f s |%n",
          what,
          expected,
          hits,
          misses,
          falses,
          100.0 * hits / Math.max(1, expected),
          mean,
          max);
    }
  }

  /**
   * Matches events of {@code type} against expected times (seconds in the loop): an event within
   * {@code before}/{@code after} seconds of an unmatched expected time is a hit, others are false.
   * Only whole loops between the first and the last event's loop are expected.
   */
  static Score score(List<Double> eventTimes, List<Double> expected, double before, double after) {
    if (eventTimes.isEmpty()) {
      return new Score(0, 0, 0, 0, List.of());
    }
    double first = Math.floor(eventTimes.get(0) / LOOP);
    double last = Math.floor(eventTimes.get(eventTimes.size() - 1) / LOOP);
    List<Double> want = new ArrayList<>();
    for (double loop = first; loop <= last; loop++) {
      for (double t : expected) {
        want.add(loop * LOOP + t);
      }
    }
    boolean[] used = new boolean[want.size()];
    int hits = 0;
    int falses = 0;
    List<Double> errors = new ArrayList<>();
    for (double e : eventTimes) {
      boolean hit = false;
      for (int i = 0; i < want.size(); i++) {
        if (!used[i] && e >= want.get(i) - before && e <= want.get(i) + after) {
          used[i] = true;
          hits++;
          errors.add(Math.abs(e - want.get(i)));
          hit = true;
          break;
        }
      }
      if (!hit) {
        falses++;
      }
    }
    // the first and last loops are partial (the agent started / the soak stopped mid-loop)
    int expectedCount = 0;
    for (int i = 0; i < want.size(); i++) {
      double w = want.get(i);
      if (used[i] || (w > eventTimes.get(0) && w < eventTimes.get(eventTimes.size() - 1))) {
        expectedCount++;
      }
    }
    return new Score(expectedCount, hits, expectedCount - hits, falses, errors);
  }

  static List<Double> times(List<JsonNode> events, String type, String field) {
    List<Double> t = new ArrayList<>();
    for (JsonNode e : events) {
      if (e.path("type").asText().equals(type)) {
        t.add(e.path(field).asDouble());
      }
    }
    t.sort(Double::compare);
    return t;
  }

  static String report(
      List<Sample> samples, List<JsonNode> events, JsonNode micTruth, double minutes) {
    StringBuilder r = new StringBuilder();
    r.append(String.format(Locale.ROOT, "## Soak: %.0f minutes%n%n", minutes));
    int n = samples.size();
    int fifth = Math.max(1, n / 5);
    List<Sample> head = samples.subList(Math.min(1, n - 1), Math.min(n, fifth + 1));
    List<Sample> tail = samples.subList(Math.max(0, n - fifth), n);
    r.append(
        "| measure | first fifth (median) | last fifth (median) | last / first | slope per hour |\n");
    r.append("|---|---|---|---|---|\n");
    row(r, "RSS (MB)", head, tail, samples, Sample::rssMb);
    row(r, "heap used (MB)", head, tail, samples, Sample::heapMb);
    row(r, "old generation (MB)", head, tail, samples, Sample::oldMb);
    row(r, "threads", head, tail, samples, s -> s.threads());
    row(r, "open files", head, tail, samples, s -> s.files());
    r.append(
        String.format(
            Locale.ROOT,
            "%n%d samples every 15 s (the first, taken at start-up, left out of the first fifth).%n%n",
            n));

    r.append("## Accuracy against the ground truth\n\n");
    r.append("| what | expected | found | missed | false | recall | error mean / max |\n");
    r.append("|---|---|---|---|---|---|---|\n");
    List<Double> enters = new ArrayList<>();
    List<Double> leaves = new ArrayList<>();
    for (SyntheticMedia.Appearance a : FACES) {
      enters.add(a.enter());
      leaves.add(a.leave());
    }
    r.append(
        score(times(events, "face_entered", "streamSeconds"), enters, 0.5, 1.5)
            .row("face entered (±0.5 s … +1.5 s)"));
    r.append(
        score(times(events, "face_left", "streamSeconds"), leaves, 0.5, 2.0)
            .row("face left (−0.5 s … +2 s)"));
    List<Double> wakeEnds = new ArrayList<>();
    List<Double> speechStarts = new ArrayList<>();
    for (JsonNode t : micTruth.path("events")) {
      if (t.path("type").asText().equals("wake_word")) {
        wakeEnds.add(t.path("end").asDouble());
      }
      speechStarts.add(t.path("start").asDouble());
    }
    r.append(
        score(times(events, "wake_word", "streamSeconds"), wakeEnds, 1.0, 1.0)
            .row("wake word \"hey jarvis\" (5 voices, ±1 s of the word's end)"));
    r.append(
        score(times(events, "utterance", "startSeconds"), speechStarts, 1.0, 1.0)
            .row("utterances (all 9 phrases, start ±1 s)"));
    r.append(
        "\nA wake word event that matches no \"hey jarvis\" is a false accept (the loop also"
            + " holds \"alexa\", \"hey marvin\" and three other phrases).\n");
    return r.toString();
  }

  private static void row(
      StringBuilder r,
      String what,
      List<Sample> head,
      List<Sample> tail,
      List<Sample> all,
      java.util.function.ToDoubleFunction<Sample> f) {
    double a = median(head, f);
    double b = median(tail, f);
    // least squares slope, per hour
    double mx = all.stream().mapToDouble(Sample::minute).average().orElse(0);
    double my = all.stream().mapToDouble(f).average().orElse(0);
    double num = 0;
    double den = 0;
    for (Sample s : all) {
      num += (s.minute() - mx) * (f.applyAsDouble(s) - my);
      den += (s.minute() - mx) * (s.minute() - mx);
    }
    double slope = den == 0 ? 0 : num / den * 60;
    r.append(
        String.format(
            Locale.ROOT, "| %s | %.1f | %.1f | %.3f | %+.2f |%n", what, a, b, b / a, slope));
  }

  private static double median(List<Sample> s, java.util.function.ToDoubleFunction<Sample> f) {
    double[] v = s.stream().mapToDouble(f).sorted().toArray();
    return v.length == 0 ? Double.NaN : v[v.length / 2];
  }
}
