package dev.massedge.bridge.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real PostgreSQL for tests: {@code MASS_TEST_PG_URL} when set, else a throwaway cluster made
 * with the installed {@code initdb} (Debian's {@code postgresql} package; run as the {@code
 * postgres} user when the tests run as root) on a free port, removed on close.
 */
public final class Postgres implements AutoCloseable {
  private final String url;
  private final Path dir;
  private final String bin;
  private final boolean asPostgres;

  private Postgres(String url, Path dir, String bin, boolean asPostgres) {
    this.url = url;
    this.dir = dir;
    this.bin = bin;
    this.asPostgres = asPostgres;
  }

  public static Postgres start() throws Exception {
    String env = System.getenv("MASS_TEST_PG_URL");
    if (env != null && !env.isBlank()) {
      return new Postgres(env, null, null, false);
    }
    String bin = findBin();
    boolean root = "root".equals(System.getProperty("user.name"));
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "mass-pg");
    if (root) {
      run(List.of("chown", "postgres", dir.toString()), false);
    }
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Postgres pg =
        new Postgres(
            "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres", dir, bin, root);
    run(
        List.of(
            bin + "/initdb",
            "-D",
            dir.resolve("data").toString(),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8"),
        root);
    run(
        List.of(
            bin + "/pg_ctl",
            "-D",
            dir.resolve("data").toString(),
            "-w",
            "-l",
            dir.resolve("log").toString(),
            "-o",
            "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off",
            "start"),
        root);
    return pg;
  }

  private static String findBin() {
    for (String v : List.of("17", "16", "15", "14", "13")) {
      Path p = Path.of("/usr/lib/postgresql", v, "bin");
      if (Files.isExecutable(p.resolve("initdb"))) {
        return p.toString();
      }
    }
    throw new IllegalStateException(
        "PostgreSQL is not installed: apt-get install -y postgresql (or set MASS_TEST_PG_URL)");
  }

  private static void run(List<String> cmd, boolean asPostgres) throws Exception {
    List<String> c = new ArrayList<>();
    if (asPostgres) {
      c.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    c.addAll(cmd);
    Process p = new ProcessBuilder(c).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", c) + " failed: " + out);
    }
  }

  /** The JDBC URL (user in the URL, no password: trust authentication on loopback). */
  public String url() {
    return url;
  }

  /** A fresh, empty database on this server; returns its JDBC URL. */
  public String newDatabase(String name) throws Exception {
    try (var c = java.sql.DriverManager.getConnection(url);
        var s = c.createStatement()) {
      s.execute("drop database if exists " + name);
      s.execute("create database " + name);
    }
    return url.replace("/postgres?", "/" + name + "?");
  }

  @Override
  public void close() throws Exception {
    if (dir == null) {
      return;
    }
    run(
        List.of(bin + "/pg_ctl", "-D", dir.resolve("data").toString(), "-m", "immediate", "stop"),
        asPostgres);
    try (var s = Files.walk(dir)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
