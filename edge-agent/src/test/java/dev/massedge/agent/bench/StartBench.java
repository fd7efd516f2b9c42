package dev.massedge.agent.bench;

import dev.massedge.inference.TestAssets;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code ./mass bench start [rounds]}: from the JVM's launch to the first answer, side by side in
 * one run, the best and median of {@code rounds} (5) starts each, in turn: a bare Micronaut
 * hello-world (its own class path: Micronaut, Netty, Jackson, logback with an XML file, SnakeYAML;
 * answer: {@code GET /hello}) and the agent as a device runs it ({@code jvm.options}, the bundle's
 * two models; answer: the first {@code POST /v1/faces} on a real picture that returns faces), each
 * also with an application class-data archive (AppCDS, made by one training start that is not
 * timed).
 */
public final class StartBench {
  private StartBench() {}

  record Kind(String label, List<String> command, URI probe, byte[] body, Map<String, String> env) {
    Kind(String label, List<String> command, URI probe, byte[] body) {
      this(label, command, probe, body, Map.of());
    }
  }

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    Path root = Path.of("").toAbsolutePath();
    Path work = Files.createDirectories(root.resolve("target/start"));
    List<String> jvm = FootprintBench.shippedJvmOptions(root);
    String helloPath = helloClassPath(root, work);
    byte[] picture = Files.readAllBytes(TestAssets.media("astronaut.png"));
    Map<String, Kind> kinds = new LinkedHashMap<>();
    for (boolean cds : new boolean[] {false, true}) {
      String suffix = cds ? " + AppCDS" : "";
      int helloPort = freePort();
      List<String> hello = new ArrayList<>(java(jvm, cds ? work.resolve("hello.jsa") : null));
      hello.addAll(
          List.of(
              "-Dmicronaut.server.port=" + helloPort,
              "-Dmass.hello-world=true",
              "-cp",
              helloPath,
              "dev.massedge.hello.HelloApplication"));
      kinds.put(
          "hello" + suffix,
          new Kind(
              "Micronaut hello-world" + suffix,
              hello,
              URI.create("http://127.0.0.1:" + helloPort + "/hello"),
              null));
      int agentPort = freePort();
      Path data = Files.createDirectories(work.resolve("agent-data" + (cds ? "-cds" : "")));
      List<String> agent = new ArrayList<>(java(jvm, cds ? work.resolve("agent.jsa") : null));
      agent.addAll(FootprintBench.ownPortAndData(agentPort, data));
      agent.addAll(
          List.of(
              "-Dmass.agent.models-dir=" + root.resolve("models"),
              "-Dmass.agent.models=face-short,vad",
              "-jar",
              root.resolve("edge-agent/target/edge-agent.jar").toString()));
      kinds.put(
          "agent" + suffix,
          new Kind(
              "agent, first inference" + suffix,
              agent,
              URI.create("http://127.0.0.1:" + agentPort + "/v1/faces"),
              picture));
    }
    Path bundle = args.length > 1 ? Path.of(args[1]).toAbsolutePath() : null;
    if (bundle != null) {
      // the bundle as a device starts it: its launcher, jlink runtime, unpacked ONNX Runtime, and
      // the archive its first start writes (made by the training start below)
      Path state = work.resolve("bundle-state");
      for (boolean cds : new boolean[] {false, true}) {
        int port = freePort();
        Path data = Files.createDirectories(work.resolve("bundle-data" + (cds ? "-cds" : "")));
        // the launcher passes what follows its name to the agent (Micronaut reads -D arguments)
        List<String> launch = new ArrayList<>(List.of(bundle.resolve("bin/mass-agent").toString()));
        launch.addAll(FootprintBench.ownPortAndData(port, data));
        launch.add("-Dmass.agent.models-dir=" + bundle.resolve("models"));
        kinds.put(
            "bundle" + (cds ? " + AppCDS" : ""),
            new Kind(
                "bundle's launcher, AppCDS " + (cds ? "on" : "off"),
                launch,
                URI.create("http://127.0.0.1:" + port + "/v1/faces"),
                picture,
                Map.of("STATE_DIRECTORY", state.toString(), "MASS_AGENT_CDS", cds ? "on" : "off")));
      }
      if (Files.isDirectory(state.resolve("cds"))) {
        try (Stream<Path> old = Files.list(state.resolve("cds"))) {
          for (Path f : old.toList()) {
            Files.delete(f);
          }
        }
      }
      time(kinds.get("bundle + AppCDS"), work);
    }
    // the training starts: each JVM with an archive to make writes it when it exits
    for (String k : List.of("hello + AppCDS", "agent + AppCDS")) {
      Kind kind = kinds.get(k);
      String use = "-XX:SharedArchiveFile=";
      Path jsa =
          Path.of(
              kind.command().stream()
                  .filter(a -> a.startsWith(use))
                  .findFirst()
                  .orElseThrow()
                  .substring(use.length()));
      Files.deleteIfExists(jsa);
      List<String> training =
          kind.command().stream()
              .map(a -> a.startsWith(use) ? "-XX:ArchiveClassesAtExit=" + jsa : a)
              .toList();
      time(new Kind(kind.label(), training, kind.probe(), kind.body()), work);
      if (!Files.isRegularFile(jsa)) {
        throw new IllegalStateException("no class-data archive written to " + jsa);
      }
    }
    Map<String, double[]> seconds = new LinkedHashMap<>();
    kinds.keySet().forEach(k -> seconds.put(k, new double[rounds]));
    for (int r = 0; r < rounds; r++) {
      for (var e : kinds.entrySet()) {
        seconds.get(e.getKey())[r] = time(e.getValue(), work);
      }
    }
    System.out.printf(
        Locale.ROOT, "== launch → first answer, %d starts each, this machine ==%n", rounds);
    Map<String, Double> median = new LinkedHashMap<>();
    for (var e : seconds.entrySet()) {
      double[] s = e.getValue().clone();
      Arrays.sort(s);
      median.put(e.getKey(), s[s.length / 2]);
      System.out.printf(
          Locale.ROOT,
          "%-40s median %5.2f s  best %5.2f s  all %s%n",
          kinds.get(e.getKey()).label(),
          s[s.length / 2],
          s[0],
          Arrays.stream(e.getValue())
              .mapToObj(v -> String.format(Locale.ROOT, "%.2f", v))
              .collect(Collectors.joining(" ")));
    }
    double hello = median.get("hello");
    System.out.printf(
        Locale.ROOT,
        "agent / hello-world: %.2fx; agent + AppCDS / hello-world: %.2fx;"
            + " agent + AppCDS / hello-world + AppCDS: %.2fx (goal: ≤ 1.3x the hello-world)%n",
        median.get("agent") / hello,
        median.get("agent + AppCDS") / hello,
        median.get("agent + AppCDS") / median.get("hello + AppCDS"));
    if (median.containsKey("bundle")) {
      System.out.printf(
          Locale.ROOT,
          "bundle / hello-world: %.2fx (AppCDS off), %.2fx (AppCDS on)%n",
          median.get("bundle") / hello,
          median.get("bundle + AppCDS") / hello);
    }
  }

  static List<String> java(List<String> jvm, Path archive) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvm);
    if (archive != null) {
      cmd.add("-XX:SharedArchiveFile=" + archive);
      cmd.add("-Xlog:cds=off,cds+dynamic=off"); // a stale archive is not an error worth a line
    }
    return cmd;
  }

  /** Seconds from the launch to the first answer of {@code kind}; the JVM is then stopped. */
  static double time(Kind kind, Path work) throws Exception {
    HttpClient http =
        HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(2)).build();
    HttpRequest probe =
        kind.body() == null
            ? HttpRequest.newBuilder(kind.probe()).build()
            : HttpRequest.newBuilder(kind.probe())
                .header("Content-Type", "image/png")
                .POST(HttpRequest.BodyPublishers.ofByteArray(kind.body()))
                .build();
    Path log = work.resolve(kind.label().replaceAll("[^a-zA-Z]+", "-") + ".log");
    ProcessBuilder pb =
        new ProcessBuilder(kind.command()).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(kind.env());
    long t0 = System.nanoTime();
    Process p = pb.start();
    try {
      long deadline = t0 + TimeUnit.SECONDS.toNanos(120);
      while (true) {
        try {
          HttpResponse<String> r = http.send(probe, HttpResponse.BodyHandlers.ofString());
          if (r.statusCode() == 200 && (kind.body() == null || r.body().contains("\"score\""))) {
            return (System.nanoTime() - t0) / 1e9;
          }
        } catch (java.io.IOException notYet) {
          // not listening yet
        }
        if (!p.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException(kind.label() + " did not answer: see " + log);
        }
        Thread.sleep(5);
      }
    } finally {
      p.destroy();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  /**
   * The hello-world's class path: a jar of its classes and bean definitions copied out of the test
   * classes and a logback.xml like Micronaut Launch writes, and the Micronaut HTTP server's jars
   * from the agent's test class path — not the agent's own modules, not its other libraries.
   */
  static String helloClassPath(Path root, Path work) throws Exception {
    Path tests = root.resolve("edge-agent/target/test-classes");
    Path classes = work.resolve("hello-classes");
    if (Files.exists(classes)) {
      try (Stream<Path> old = Files.walk(classes)) {
        old.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
    try (Stream<Path> files = Files.walk(tests)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        String rel = tests.relativize(f).toString();
        if (rel.startsWith("dev/massedge/hello/")
            || (rel.startsWith("META-INF/micronaut/")
                && f.getFileName().toString().startsWith("dev.massedge.hello."))) {
          Path to = classes.resolve(rel);
          Files.createDirectories(to.getParent());
          Files.copy(f, to, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
    Files.writeString(
        classes.resolve("logback.xml"),
        """
        <configuration>
          <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
            <encoder><pattern>%cyan(%d{HH:mm:ss.SSS}) %gray([%thread]) %highlight(%-5level) %magenta(%logger{36}) - %msg%n</pattern></encoder>
          </appender>
          <root level="info"><appender-ref ref="STDOUT"/></root>
        </configuration>
        """);
    Pattern keep =
        Pattern.compile(
            "/io/micronaut/micronaut-(core|core-reactive|inject|aop|context|context-propagation"
                + "|http|http-netty|http-server|http-server-netty|buffer-netty|router|runtime"
                + "|jackson-core|jackson-databind|json-core|websocket)/"
                + "|/io/netty/|/com/fasterxml/jackson/|/org/reactivestreams/|/io/projectreactor/"
                + "|/org/slf4j/|/ch/qos/logback/|/org/yaml/|/jakarta/");
    // a jar, not a folder: a class-data archive is made only from jars
    Path jar = work.resolve("hello.jar");
    try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar));
        Stream<Path> files = Files.walk(classes)) {
      for (Path f : files.filter(f -> !f.equals(classes)).toList()) {
        // folders too: Micronaut lists META-INF/micronaut/…/ to find the bean definitions
        boolean dir = Files.isDirectory(f);
        out.putNextEntry(
            new java.util.jar.JarEntry(classes.relativize(f).toString() + (dir ? "/" : "")));
        if (!dir) {
          Files.copy(f, out);
        }
        out.closeEntry();
      }
    }
    List<String> path = new ArrayList<>(List.of(jar.toString()));
    for (String e :
        Files.readString(root.resolve("edge-agent/target/test-classpath.txt")).trim().split(":")) {
      if (keep.matcher(e).find() && e.endsWith(".jar")) {
        path.add(e);
      }
    }
    return String.join(":", path);
  }

  static int freePort() throws java.io.IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
