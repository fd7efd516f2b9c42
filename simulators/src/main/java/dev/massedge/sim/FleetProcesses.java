package dev.massedge.sim;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts the packaged applications as processes, the way a user runs them: the cloud bridge ({@code
 * cloud-bridge/target/cloud-bridge.jar}) and edge agents ({@code edge-agent/target/edge-agent.jar}
 * with the JVM options of {@code edge-agent/jvm.options}). Each logs to a file in its own
 * directory; {@link Running#close()} stops it (SIGTERM, then SIGKILL).
 */
public final class FleetProcesses {
  private final Path root;

  /** {@code root}: the project's root directory (where {@code mass} lives). */
  public FleetProcesses(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  /** A started process with its log and the HTTP port it serves. */
  public record Running(String name, Process process, Path log, int httpPort)
      implements AutoCloseable {
    public String url() {
      return "http://127.0.0.1:" + httpPort;
    }

    /** Waits until {@code path} answers 200, or the process dies (with its log's tail). */
    public Running awaitHttp(String path, Duration timeout)
        throws IOException, InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          throw new IOException(name + " exited with " + process.exitValue() + "; log:\n" + tail());
        }
        try {
          HttpURLConnection c =
              (HttpURLConnection) URI.create(url() + path).toURL().openConnection();
          c.setConnectTimeout(500);
          c.setReadTimeout(2000);
          if (c.getResponseCode() == 200) {
            return this;
          }
        } catch (IOException notYet) {
          // starting
        }
        Thread.sleep(200);
      }
      throw new IOException(
          name + " did not answer " + path + " within " + timeout + "; log:\n" + tail());
    }

    public String tail() throws IOException {
      if (!Files.exists(log)) {
        return "";
      }
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(15, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    }
  }

  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /**
   * The bridge with its data in {@code dir}; {@code properties} set {@code mass.bridge.*} and the
   * rest (for example {@code mass.bridge.mqtt-url}, {@code mass.bridge.db-url}).
   */
  public Running bridge(Path dir, Map<String, String> properties) throws IOException {
    return bridge(dir, properties, freePort());
  }

  /** The bridge serving HTTP on {@code http}. */
  public Running bridge(Path dir, Map<String, String> properties, int http) throws IOException {
    Files.createDirectories(dir);
    List<String> cmd = new ArrayList<>(List.of(java(), "-Xmx512m", "-Djava.io.tmpdir=" + dir));
    cmd.add("-Dmicronaut.server.port=" + http);
    cmd.add("-Dmass.bridge.data-dir=" + dir);
    properties.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
    cmd.addAll(List.of("-jar", jar("cloud-bridge/target/cloud-bridge.jar").toString()));
    return start("bridge", cmd, dir, http);
  }

  /** An agent named {@code device} with its data in {@code dir}. */
  public Running agent(String device, Path dir, Map<String, String> properties) throws IOException {
    Files.createDirectories(dir);
    int http = freePort();
    List<String> cmd = new ArrayList<>(List.of(java()));
    for (String line : Files.readAllLines(root.resolve("edge-agent/jvm.options"))) {
      if (!line.isBlank() && !line.startsWith("#")) {
        cmd.add(line.trim());
      }
    }
    cmd.add("-Djava.io.tmpdir=" + dir);
    cmd.add("-Dmicronaut.server.port=" + http);
    cmd.add("-Dmass.agent.device-id=" + device);
    cmd.add("-Dmass.agent.models-dir=" + root.resolve("models"));
    cmd.add("-Dmass.coap.enabled=false");
    // one machine: the demo, the tests and their tools call the agents from here
    cmd.add("-Dmass.agent.api-auth=loopback");
    cmd.add("-Dmass.agent.api-token-file=" + dir.resolve("api-token"));
    cmd.add("-Dmass.sync.store-dir=" + dir.resolve("store"));
    cmd.add("-Dmass.sync.outbox-dir=" + dir.resolve("outbox"));
    properties.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
    cmd.addAll(List.of("-jar", jar("edge-agent/target/edge-agent.jar").toString()));
    return start(device, cmd, dir, http);
  }

  private Path jar(String rel) throws IOException {
    Path p = root.resolve(rel);
    if (!Files.isRegularFile(p)) {
      throw new IOException(p + " is missing: build with ./mvnw -B install -DskipTests");
    }
    return p;
  }

  private static Running start(String name, List<String> cmd, Path dir, int http)
      throws IOException {
    Path log = dir.resolve(name + ".log");
    Process p =
        new ProcessBuilder(cmd)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    return new Running(name, p, log, http);
  }
}
