package dev.massedge.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * The one-command demo ({@code ./mass demo}): on this machine, the cloud bridge on its embedded
 * broker and database, three camera agents and one kiosk agent fed by synthetic recordings (faces
 * entering and leaving; a wake word and speech in noise), and a canary rollout of a new face-model
 * version (the int8 quantization of the bundled one). It prints the dashboard's address, the
 * devices' events as they arrive and the rollout's progress; Ctrl-C stops everything. With {@code
 * --once} it stops by itself once the rollout completed and events and telemetry arrived (non-zero
 * exit if they did not within the time limit), for CI.
 */
public final class Demo {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path root;
  private final Path dir;
  private final PrintStream out;
  private final List<FleetProcesses.Running> running = new ArrayList<>();
  private String base;
  private String token;
  private BridgeClient api;

  Demo(Path root, Path dir, PrintStream out) {
    this.root = root;
    this.dir = dir;
    this.out = out;
  }

  public static void main(String[] args) throws Exception {
    boolean once = List.of(args).contains("--once");
    int httpPort = Integer.parseInt(option(args, "--port", "8090"));
    int mqttPort = Integer.parseInt(option(args, "--mqtt-port", "1883"));
    Path root = Path.of(option(args, "--root", ".")).toAbsolutePath().normalize();
    Demo demo = new Demo(root, root.resolve("target/demo"), System.out);
    Runtime.getRuntime().addShutdownHook(new Thread(demo::stop, "demo-stop"));
    int status;
    try {
      status = demo.run(once, httpPort, mqttPort);
    } catch (Exception e) {
      System.err.println("demo failed: " + e.getMessage());
      status = 1;
    }
    demo.stop();
    System.exit(status);
  }

  private static String option(String[] args, String name, String d) {
    for (int i = 0; i + 1 < args.length; i++) {
      if (args[i].equals(name)) {
        return args[i + 1];
      }
    }
    return d;
  }

  int run(boolean once, int httpPort, int mqttPort) throws Exception {
    Path media = media();
    FleetProcesses fleet = new FleetProcesses(root);
    dev.massedge.sync.io.Durable.deleteTree(dir.resolve("run"));
    Path run = Files.createDirectories(dir.resolve("run"));
    say("starting the cloud bridge (embedded MQTT 5 broker on :%d, H2 database) ...", mqttPort);
    FleetProcesses.Running bridge =
        fleet.bridge(
            run.resolve("bridge"),
            Map.of(
                "mass.bridge.mqtt-port",
                Integer.toString(mqttPort),
                "mass.bridge.rollout-tick",
                "500ms"),
            httpPort);
    running.add(bridge);
    bridge.awaitHttp("/health", Duration.ofSeconds(90));
    base = bridge.url();
    token = Files.readString(run.resolve("bridge/admin-token")).trim();
    api = new BridgeClient(base, token);
    String key = api.get("/api/v1/fleet-key").path("publicKey").asText();

    Path v2 = newVersion();
    for (Path m : List.of(root.resolve("models/face-blazeface-128"), v2)) {
      JsonNode r = api.post("/api/v1/models?notes=demo", "application/zip", zip(m));
      say(
          "catalog: %s v%s, %s, %d chunks, signed %s",
          r.path("name").asText(),
          r.path("version").asText(),
          String.format(Locale.ROOT, "%.2f MB", r.path("sizeBytes").asLong() / 1e6),
          r.path("chunks").asInt(),
          r.path("manifestSha256").asText().substring(0, 12));
    }

    String mqtt = "tcp://127.0.0.1:" + mqttPort;
    Map<String, String> sync =
        Map.of(
            "mass.sync.url",
            mqtt,
            "mass.sync.trusted-keys",
            key,
            "mass.sync.health-window",
            "10s",
            "mass.sync.telemetry-interval",
            "1s");
    for (int i = 1; i <= 3; i++) {
      Map<String, String> p = new LinkedHashMap<>(sync);
      p.put("mass.pipelines.door.kind", "camera");
      p.put("mass.pipelines.door.source", "ffmpeg");
      p.put("mass.pipelines.door.input", media.resolve("cam-" + i + ".mp4").toString());
      p.put("mass.pipelines.door.input-options", "-stream_loop,-1");
      p.put("mass.pipelines.door.fps", "5");
      p.put("mass.pipelines.door.model", "face-short");
      running.add(fleet.agent("cam-" + i, run.resolve("cam-" + i), p));
    }
    Map<String, String> k = new LinkedHashMap<>(sync);
    k.put("mass.pipelines.kiosk.kind", "voice");
    k.put("mass.pipelines.kiosk.source", "ffmpeg");
    k.put("mass.pipelines.kiosk.input", media.resolve("kiosk.wav").toString());
    k.put("mass.pipelines.kiosk.input-options", "-re,-stream_loop,-1");
    k.put(
        "mass.pipelines.kiosk.wake-word-dir",
        root.resolve("models/demo-only/openwakeword").toString());
    k.put("mass.pipelines.kiosk.wake-words", "hey_jarvis_v0.1");
    running.add(fleet.agent("kiosk-1", run.resolve("kiosk-1"), k));
    say("starting agents cam-1, cam-2, cam-3 (camera pipelines) and kiosk-1 (voice pipeline) ...");
    for (FleetProcesses.Running a : running.subList(1, running.size())) {
      a.awaitHttp("/v2/health/ready", Duration.ofSeconds(120));
    }
    for (String id : List.of("cam-1", "cam-2", "cam-3", "kiosk-1")) {
      awaitOnline(id);
      api.put(
          "/api/v1/devices/" + id + "/tags",
          Map.of("tags", List.of(id.startsWith("cam") ? "camera" : "kiosk", "site=demo")));
    }
    say("");
    say("dashboard: %s/#token=%s", base, token);
    say("fleet CLI: MASS_BRIDGE_URL=%s MASS_TOKEN=%s ./mass devices ls", base, token);
    say("");

    long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
    Map<String, Long> seen = new TreeMap<>();
    Map<String, Integer> counts = new TreeMap<>();
    // a baseline for the gates (a whole 20 s loop of each recording: the detection gate compares
    // faces in view over the soak time before the phase and after the commit), then the rollout
    say("collecting 22 s of baseline telemetry for the rollout's health gates ...");
    for (int i = 0; i < 22; i++) {
      events(seen, counts);
      Thread.sleep(1000);
    }
    JsonNode started =
        api.post(
            "/api/v1/rollouts",
            "application/json",
            JSON.writeValueAsBytes(
                Map.of(
                    "model", "face-short",
                    "version", "2",
                    "tags", List.of("camera"),
                    "phases", List.of(34, 100),
                    "gates",
                        Map.of(
                            "successThreshold", 1.0,
                            "failureThreshold", 0.0,
                            "maxErrorRate", 0.05,
                            "maxLatencyRatio", 3.0,
                            "maxDetectionChange", 0.5,
                            "soakSeconds", 20))));
    long id = started.path("id").asLong();
    say("rollout %d: face-short v2 (int8) to the cameras, canary first", id);
    String last = "";
    String state = "running";
    while (true) {
      events(seen, counts);
      JsonNode r = api.get("/api/v1/rollouts/" + id);
      state = r.path("state").asText();
      String line = progress(r);
      if (!line.equals(last)) {
        say("%s", line);
        last = line;
      }
      boolean done = !state.equals("running");
      if (once
          && done
          && counts.getOrDefault("face_entered", 0) > 0
          && counts.getOrDefault("wake_word", 0) > 0) {
        break;
      }
      if (once && System.nanoTime() > deadline) {
        say("timed out: rollout %s, events %s", state, counts);
        return 1;
      }
      Thread.sleep(1000);
    }
    JsonNode o = api.get("/api/v1/overview");
    say("");
    say(
        "summary: rollout %s; devices online %d/%d; telemetry records %d; events %s",
        state,
        o.path("online").asInt(),
        o.path("devices").asInt(),
        o.path("telemetry").path("records").asLong(),
        counts);
    for (String d : List.of("cam-1", "cam-2", "cam-3")) {
      JsonNode s = api.get("/api/v1/devices/" + d).path("models").path("face-short");
      say("  %s: face-short v%s (%s)", d, s.path("active").asText(), s.path("state").asText());
    }
    if (!once) {
      say("running; Ctrl-C stops everything");
      while (true) {
        events(seen, counts);
        Thread.sleep(2000);
      }
    }
    return state.equals("completed") ? 0 : 1;
  }

  static String progress(JsonNode r) {
    long total = r.path("devices").asLong();
    long ok = r.path("states").path("succeeded").asLong();
    return String.format(
        Locale.ROOT,
        "rollout %d [%s%s] %d/%d on v%s, phase %d of %d, %s%s",
        r.path("id").asLong(),
        "#".repeat((int) (20 * ok / Math.max(1, total))),
        ".".repeat(20 - (int) (20 * ok / Math.max(1, total))),
        ok,
        total,
        r.path("version").asText(),
        r.path("phase").asInt(),
        r.path("phases").asText().split(",").length,
        r.path("state").asText(),
        r.path("reason").isTextual() ? " (" + r.path("reason").asText() + ")" : "");
  }

  /** Prints the devices' new events (face entered/left, wake word, utterance). */
  private void events(Map<String, Long> seen, Map<String, Integer> counts) throws Exception {
    for (String d : List.of("cam-1", "cam-2", "cam-3", "kiosk-1")) {
      long after = seen.getOrDefault(d, -1L);
      for (JsonNode e : api.get("/api/v1/devices/" + d + "/events?limit=50")) {
        long seq = e.path("seq").asLong();
        if (seq <= after) {
          continue;
        }
        seen.put(d, Math.max(seen.getOrDefault(d, -1L), seq));
        JsonNode body = JSON.readTree(e.path("body").asText());
        String type = body.path("type").asText();
        counts.merge(type, 1, Integer::sum);
        if (type.equals("speaking") || type.equals("face_count")) {
          continue; // counted, not printed: they come with every utterance and face
        }
        String detail =
            switch (type) {
              case "wake_word" -> body.path("word").asText();
              case "utterance" ->
                  String.format(
                      Locale.ROOT,
                      "%.1f s of speech",
                      body.path("streamSeconds").asDouble() - body.path("startSeconds").asDouble());
              case "face_entered", "face_left" ->
                  String.format(
                      Locale.ROOT,
                      "track %d at %.1f s",
                      body.path("track").asLong(),
                      body.path("streamSeconds").asDouble());
              default -> "";
            };
        say("  event %-8s %-13s %s", d, type, detail);
      }
    }
  }

  private void awaitOnline(String id) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      HttpResponse<byte[]> r = api.send("GET", "/api/v1/devices/" + id, null, null);
      if (r.statusCode() == 200 && JSON.readTree(r.body()).path("online").asBoolean()) {
        return;
      }
      Thread.sleep(250);
    }
    throw new IOException(id + " did not come online at the bridge");
  }

  /** The synthetic recordings (made once): three doorways and a kiosk, with ground truth. */
  private Path media() throws Exception {
    Path m = Files.createDirectories(dir.resolve("media"));
    Path face = root.resolve("media/astronaut.png");
    List<List<SyntheticMedia.Appearance>> schedules =
        List.of(
            List.of(new SyntheticMedia.Appearance(2, 10)),
            List.of(new SyntheticMedia.Appearance(6, 16)),
            List.of(new SyntheticMedia.Appearance(1, 5), new SyntheticMedia.Appearance(12, 18)));
    for (int i = 1; i <= 3; i++) {
      Path f = m.resolve("cam-" + i + ".mp4");
      if (!Files.exists(f)) {
        SyntheticMedia.camera(f, face, 20, 10, schedules.get(i - 1));
      }
    }
    Path kiosk = m.resolve("kiosk.wav");
    if (!Files.exists(kiosk)) {
      Path speech = m.resolve("speech");
      SyntheticMedia.microphone(
          kiosk,
          20,
          List.of(
              new SyntheticMedia.Phrase(
                  SyntheticMedia.speak(speech, "hey jarvis", "en-us", 175), 2, true),
              new SyntheticMedia.Phrase(
                  SyntheticMedia.speak(speech, "what is the weather like today", "en-gb", 175),
                  4,
                  false),
              new SyntheticMedia.Phrase(
                  SyntheticMedia.speak(speech, "alexa", "en-us", 175), 13, false)));
    }
    return m;
  }

  /** face-short v2: the int8 quantization of the bundled model, made once with the model tool. */
  private Path newVersion() throws Exception {
    Path v2 = dir.resolve("face-short-2");
    if (Files.exists(v2.resolve("model.json"))) {
      return v2;
    }
    Path work = dir.resolve("face-short-int8");
    dev.massedge.sync.io.Durable.deleteTree(work);
    say("making face-short v2: int8 quantization of v1 (calibrated on the sample images) ...");
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g",
                "-Djava.io.tmpdir=" + Files.createDirectories(dir.resolve("tmp")),
                "-cp",
                root.resolve("edge-agent/target/lib") + "/*",
                "dev.massedge.inference.onnx.tools.ModelTool",
                "quantize",
                root.resolve("models/face-blazeface-128").toString(),
                "--calibration",
                root.resolve("media").toString(),
                "--out",
                work.toString()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IOException("quantization failed:\n" + log);
    }
    Path made;
    try (Stream<Path> s = Files.walk(work)) {
      made =
          s.filter(f -> f.getFileName().toString().equals("model.json"))
              .findFirst()
              .orElseThrow(() -> new IOException("no model.json in " + work + ":\n" + log))
              .getParent();
    }
    Files.createDirectories(v2);
    Files.copy(made.resolve("model.onnx"), v2.resolve("model.onnx"));
    var desc =
        (com.fasterxml.jackson.databind.node.ObjectNode)
            JSON.readTree(made.resolve("model.json").toFile());
    desc.put("name", "face-short");
    desc.put("version", "2");
    JSON.writeValue(v2.resolve("model.json").toFile(), desc);
    return v2;
  }

  private void say(String format, Object... args) {
    out.println(args.length == 0 ? format : String.format(Locale.ROOT, format, args));
    out.flush();
  }

  /** A model directory (model.json and model.onnx) as the zip the catalog takes. */
  public static byte[] zip(Path dir) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(b)) {
      for (String f : List.of("model.json", "model.onnx")) {
        z.putNextEntry(new ZipEntry(f));
        Files.copy(dir.resolve(f), z);
        z.closeEntry();
      }
    }
    return b.toByteArray();
  }

  /** Stops the agents, then the bridge. */
  synchronized void stop() {
    for (int i = running.size() - 1; i >= 0; i--) {
      try {
        running.get(i).close();
      } catch (Exception e) {
        // stopping anyway
      }
    }
    running.clear();
  }
}
