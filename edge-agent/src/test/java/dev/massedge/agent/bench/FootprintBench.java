package dev.massedge.agent.bench;

import dev.massedge.inference.TestAssets;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * {@code ./mass bench footprint}: the packaged agent with a face pipeline (a looping 640×480 video
 * at 5 fps) and a voice pipeline (a looping WAV, VAD + hey_jarvis wake word) on the CPU, started
 * with each JVM configuration in turn in one run: its RSS after {@code settle} seconds (median of 5
 * samples), heap committed, GC time, frames processed. The configurations: the agent's {@code
 * jvm.options} without the heap floor (the heap starts at its 128 MB cap, as the JVM picks on a
 * machine with this much memory), {@code jvm.options} as shipped, and as shipped with only the
 * pipelines' models loaded ({@code mass.agent.models}); and {@code jvm.options} with C2 and without
 * the native-heap trim, for what C1 alone saves and costs (CPU seconds over the whole run).
 */
public final class FootprintBench {
  private FootprintBench() {}

  public static void main(String[] args) throws Exception {
    int settle = args.length > 0 ? Integer.parseInt(args[0]) : 60;
    Path root = Path.of("").toAbsolutePath();
    Path work = Files.createDirectories(root.resolve("target/footprint"));
    Path video = TestAssets.faceVideo(work.resolve("door.mp4"), 20);
    List<String> shipped = shippedJvmOptions(root);
    List<String> noFloor =
        shipped.stream()
            .filter(
                o -> !o.startsWith("-Xms") && !o.startsWith("-Xmn") && !o.contains("HeapFreeRatio"))
            .toList();
    List<String> c2 =
        shipped.stream()
            .filter(
                o ->
                    !o.contains("TieredStopAtLevel")
                        && !o.contains("CICompilerCount")
                        && !o.contains("TrimNativeHeap"))
            .toList();
    System.out.printf(
        Locale.ROOT,
        "== the agent with a face and a voice pipeline on the CPU, RSS after %d s ==%n",
        settle);
    double[] before = run("without the heap floor", noFloor, root, work, video, settle);
    double[] withC2 = run("with C2, no native trim", c2, root, work, video, settle);
    double[] after = run("jvm.options as shipped", shipped, root, work, video, settle);
    List<String> onlyUsed = new java.util.ArrayList<>(shipped);
    onlyUsed.add("-Dmass.agent.models=face-short,vad");
    double[] used =
        run("as shipped, the pipelines' models only", onlyUsed, root, work, video, settle);
    System.out.printf(
        Locale.ROOT,
        "shipped / without the floor: RSS %.2fx (%.0f MB less); shipped / with C2: RSS %.2fx (%.0f MB"
            + " less), CPU %.2fx%n",
        after[0] / before[0],
        before[0] - after[0],
        after[0] / withC2[0],
        withC2[0] - after[0],
        after[4] / withC2[4]);
    System.out.printf(
        Locale.ROOT,
        "the pipelines' models only / shipped: RSS %.2fx (%.0f MB less): %.1f MB (goal ≤ 150 MB)%n",
        used[0] / after[0],
        after[0] - used[0],
        used[0]);
  }

  /** Returns RSS MB, heap committed MB, GC seconds, frames processed, CPU seconds. */
  static double[] run(String label, List<String> jvm, Path root, Path work, Path video, int settle)
      throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path dir = Files.createDirectories(work.resolve("run-" + port));
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvm);
    cmd.addAll(ownPortAndData(port, dir));
    cmd.addAll(
        List.of(
            "-Dmass.agent.models-dir=" + root.resolve("models"),
            "-Dmass.pipelines.door.kind=camera",
            "-Dmass.pipelines.door.source=ffmpeg",
            "-Dmass.pipelines.door.input=" + video,
            "-Dmass.pipelines.door.input-options=-re,-stream_loop,-1",
            "-Dmass.pipelines.door.fps=5",
            "-Dmass.pipelines.kiosk.kind=voice",
            "-Dmass.pipelines.kiosk.source=ffmpeg",
            "-Dmass.pipelines.kiosk.input=" + TestAssets.media("vad_test_16k.wav"),
            "-Dmass.pipelines.kiosk.input-options=-re,-stream_loop,-1",
            "-Dmass.pipelines.kiosk.wake-word-dir=" + root.resolve("models/demo-only/openwakeword"),
            "-Dmass.pipelines.kiosk.wake-words=hey_jarvis_v0.1",
            "-jar",
            root.resolve("edge-agent/target/edge-agent.jar").toString()));
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("agent.log").toFile())
            .start();
    try {
      HttpClient http = HttpClient.newHttpClient();
      URI ready = URI.create("http://127.0.0.1:" + port + "/v2/health/ready");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (true) {
        try {
          if (http.send(
                      HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.discarding())
                  .statusCode()
              == 200) {
            break;
          }
        } catch (java.io.IOException notYet) {
          // starting
        }
        if (!p.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "the agent did not come up: see " + dir.resolve("agent.log"));
        }
        Thread.sleep(250);
      }
      Thread.sleep(settle * 1000L);
      double[] rss = new double[5];
      for (int i = 0; i < rss.length; i++) {
        rss[i] = rssMb(p.pid());
        Thread.sleep(2000);
      }
      Arrays.sort(rss);
      String[] gc = jstat(p.pid());
      double heap =
          (Double.parseDouble(gc[0])
                  + Double.parseDouble(gc[1])
                  + Double.parseDouble(gc[4])
                  + Double.parseDouble(gc[6]))
              / 1024;
      double gcSeconds = Double.parseDouble(gc[gc.length - 1]);
      String pipelines =
          http.send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/pipelines"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      java.util.regex.Matcher m =
          java.util.regex.Pattern.compile("\"frames_processed\":(\\d+)").matcher(pipelines);
      double frames = m.find() ? Double.parseDouble(m.group(1)) : -1;
      String[] stat =
          Files.readString(Path.of("/proc/" + p.pid() + "/stat")).split("\\) ")[1].split(" ");
      double cpu = (Long.parseLong(stat[11]) + Long.parseLong(stat[12])) / 100.0; // utime + stime
      System.out.printf(
          Locale.ROOT,
          "%-38s RSS %6.1f MB  heap committed %5.1f MB  GC %.2f s  frames processed %.0f  CPU %.1f s%n",
          label,
          rss[2],
          heap,
          gcSeconds,
          frames,
          cpu);
      return new double[] {rss[2], heap, gcSeconds, frames, cpu};
    } finally {
      p.destroy();
      p.waitFor(20, TimeUnit.SECONDS);
    }
  }

  /** The agent's {@code edge-agent/jvm.options}, one option an entry, comments left out. */
  static List<String> shippedJvmOptions(Path root) throws java.io.IOException {
    return Files.readAllLines(root.resolve("edge-agent/jvm.options")).stream()
        .map(String::trim)
        .filter(l -> !l.isBlank() && !l.startsWith("#"))
        .toList();
  }

  /**
   * The properties that give a benchmark's agent its own HTTP port and data folder (temporary
   * files, model store, outbox, batch jobs, API token), callable from this machine without the
   * token, CoAP off.
   */
  static List<String> ownPortAndData(int port, Path data) {
    return List.of(
        "-Djava.io.tmpdir=" + data,
        "-Dmicronaut.server.port=" + port,
        "-Dmass.agent.api-auth=loopback",
        "-Dmass.agent.api-token-file=" + data.resolve("api-token"),
        "-Dmass.coap.enabled=false",
        "-Dmass.sync.store-dir=" + data.resolve("store"),
        "-Dmass.sync.outbox-dir=" + data.resolve("outbox"),
        "-Dmass.batch.dir=" + data.resolve("batch"));
  }

  static double rssMb(long pid) throws Exception {
    for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (l.startsWith("VmRSS:")) {
        return Double.parseDouble(l.replaceAll("[^0-9]", "")) / 1024;
      }
    }
    throw new IllegalStateException("no VmRSS for " + pid);
  }

  /** {@code jstat -gc}: S0C S1C S0U S1U EC EU OC OU MC MU … GCT (kB, seconds). */
  static String[] jstat(long pid) throws Exception {
    Process j =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "jstat").toString(),
                "-gc",
                Long.toString(pid))
            .redirectErrorStream(true)
            .start();
    List<String> lines = new String(j.getInputStream().readAllBytes()).lines().toList();
    j.waitFor(10, TimeUnit.SECONDS);
    return lines.get(lines.size() - 1).trim().split("\\s+");
  }
}
