package dev.massedge.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's per-platform bundles and its .deb, built by {@code edge-agent/packaging/} as a user
 * would: each bundle carries only its own platform's natives; the linux-aarch64 bundle's jlink
 * runtime, linked here from Debian's aarch64 jmods when they were fetched, is all aarch64; the
 * linux-x64 bundle's jlink runtime runs the agent and finds a face, and its second start maps the
 * class-data archive its first wrote; the .deb installs into a scratch root, and its systemd units
 * are valid ({@code systemd-analyze verify}).
 */
class PackagingIT {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  static final Path PACKAGING = ROOT.resolve("edge-agent/packaging");
  @TempDir Path tmp;

  static String run(Path log, String... cmd) throws Exception {
    Process p =
        new ProcessBuilder(cmd)
            .directory(ROOT.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    assertThat(p.waitFor(300, TimeUnit.SECONDS)).as(String.join(" ", cmd)).isTrue();
    String out = Files.readString(log);
    assertThat(p.exitValue()).as(String.join(" ", cmd) + "\n" + out).isZero();
    return out;
  }

  /** The ELF machine of every native library in the bundle's jars and native/, by library name. */
  static List<String> natives(Path bundle) throws IOException {
    List<String> found = new ArrayList<>();
    try (Stream<Path> files = Files.list(bundle.resolve("native"))) {
      for (Path f : files.toList()) {
        found.add(machine(f) + " native/" + f.getFileName());
      }
    }
    try (Stream<Path> jars = Files.list(bundle.resolve("lib"))) {
      for (Path jar : jars.toList()) {
        try (ZipFile z = new ZipFile(jar.toFile())) {
          for (ZipEntry e : java.util.Collections.list(z.entries())) {
            String n = e.getName();
            if (n.endsWith(".dylib") || n.endsWith(".dll") || n.endsWith(".jnilib")) {
              found.add("foreign " + n);
            } else if (!e.isDirectory() && (n.endsWith(".so") || n.matches(".*\\.so\\.[0-9.]+"))) {
              try (InputStream in = z.getInputStream(e)) {
                found.add(machine(in.readNBytes(20)) + " " + n);
              }
            }
          }
        }
      }
    }
    return found;
  }

  /** The ELF machine of a file ({@link #machine(byte[])} of its first 20 bytes). */
  static String machine(Path f) throws IOException {
    try (InputStream in = Files.newInputStream(f)) {
      return machine(in.readNBytes(20));
    }
  }

  /** x86-64, aarch64 or "machine N" from an ELF header's first 20 bytes. */
  static String machine(byte[] h) {
    boolean elf = h.length == 20 && h[0] == 0x7f && h[1] == 'E' && h[2] == 'L' && h[3] == 'F';
    int machine = elf ? (h[18] & 0xff) | (h[19] & 0xff) << 8 : -1;
    return machine == 62 ? "x86-64" : machine == 183 ? "aarch64" : "machine " + machine;
  }

  @Test
  void bundlesCarryOnlyTheirOwnNativesAndTheDebInstallsAValidService() throws Exception {
    Path x64 = tmp.resolve("bundle-linux-x64");
    Path arm = tmp.resolve("bundle-linux-aarch64");
    run(
        tmp.resolve("x64.log"),
        PACKAGING.resolve("build-bundle.sh").toString(),
        "linux-x64",
        x64.toString());
    run(
        tmp.resolve("arm.log"),
        PACKAGING.resolve("build-bundle.sh").toString(),
        "linux-aarch64",
        arm.toString());

    List<String> x = natives(x64);
    List<String> a = natives(arm);
    assertThat(x).isNotEmpty().allMatch(n -> n.startsWith("x86-64 "), "x86-64 natives only");
    assertThat(a).isNotEmpty().allMatch(n -> n.startsWith("aarch64 "), "aarch64 natives only");
    assertThat(x)
        .anyMatch(n -> n.equals("x86-64 native/libonnxruntime.so"))
        .anyMatch(n -> n.contains("tensorflowlite"));
    assertThat(a)
        .anyMatch(n -> n.equals("aarch64 native/libonnxruntime.so"))
        .anyMatch(n -> n.contains("tensorflowlite"));
    assertThat(x64.resolve("runtime/bin/java")).isExecutable(); // this machine's platform
    if (Files.isRegularFile(ROOT.resolve("target/jmods/linux-aarch64/java.base.jmod"))) {
      // linked here from Debian's aarch64 jmods (fetch-jmods.sh; .ci/run fetches them): every
      // binary of it is for aarch64, and its class-data archive is left to the device (the .deb)
      List<String> runtime = new ArrayList<>();
      try (Stream<Path> files = Files.walk(arm.resolve("runtime"))) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          String n = f.getFileName().toString();
          if (n.endsWith(".so") || f.getParent().getFileName().toString().equals("bin")) {
            runtime.add(machine(f) + " " + arm.relativize(f));
          }
        }
      }
      assertThat(runtime)
          .contains("aarch64 runtime/bin/java", "aarch64 runtime/lib/server/libjvm.so")
          .allMatch(n -> n.startsWith("aarch64 "), "aarch64 binaries only");
      assertThat(arm.resolve("runtime/lib/server/classes.jsa")).doesNotExist();
      assertThat(Files.readString(arm.resolve("runtime/release")))
          .contains("JAVA_VERSION=\"17.")
          .contains("jdk.crypto.ec")
          .contains("java.desktop");
    } else {
      assertThat(arm.resolve("runtime")).doesNotExist(); // no aarch64 jmods here to link
    }
    assertThat(arm.resolve("lib/pi4j-plugin-mock-2.8.0.jar")).doesNotExist();
    // model-sync's replacement of Paho's CountingInputStream (bulk payload reads) must come first
    String classPath;
    try (java.util.jar.JarFile agentJar =
        new java.util.jar.JarFile(x64.resolve("edge-agent.jar").toFile())) {
      classPath = agentJar.getManifest().getMainAttributes().getValue("Class-Path");
    }
    assertThat(classPath.indexOf("lib/model-sync-"))
        .isNotNegative()
        .isLessThan(classPath.indexOf("lib/org.eclipse.paho.mqttv5.client-"));

    // the bundle's own trimmed runtime runs the agent; its first start writes a class-data archive
    // when it stops, the second maps it
    Path data = Files.createDirectories(tmp.resolve("data"));
    assertThat(startAndFindAFace(x64, data, "first"))
        .noneMatch(m -> m.startsWith(data.resolve("cds").toString()));
    List<Path> archives;
    try (Stream<Path> written = Files.list(data.resolve("cds"))) {
      archives = written.toList();
    }
    assertThat(archives).singleElement().matches(f -> f.toString().endsWith(".jsa"));
    assertThat(startAndFindAFace(x64, data, "second"))
        .contains(archives.get(0).toString())
        .contains(x64.resolve("native/libonnxruntime.so").toString()); // not unpacked to /tmp

    // the .deb, installed into a scratch root
    Path deb = buildDeb(x64, "linux-x64", "amd64");
    String info = run(tmp.resolve("info.log"), "dpkg-deb", "--info", deb.toString());
    assertThat(info)
        .contains("Package: mass-edge-agent")
        .contains("Architecture: amd64")
        .contains("conffiles");
    // every system library the bundle's natives link (its runtime's and ONNX Runtime's) comes
    // from a package the .deb depends on: the Debian package this machine has it from
    String depends =
        info.lines().filter(l -> l.trim().startsWith("Depends:")).findFirst().orElseThrow().trim();
    for (String soname : systemLibraries(x64)) {
      String owner = run(tmp.resolve("owner.log"), "dpkg", "-S", "*/" + soname);
      String pkg = owner.lines().findFirst().orElseThrow().split(":")[0].trim();
      assertThat(depends)
          .as("%s (from %s)", soname, pkg)
          .containsPattern("[ ,|]" + java.util.regex.Pattern.quote(pkg) + "(,|$| )");
    }
    // the maintainer scripts parse (postinst makes a foreign-linked runtime's class-data archive)
    Path control = tmp.resolve("control");
    run(tmp.resolve("control.log"), "dpkg-deb", "-e", deb.toString(), control.toString());
    assertThat(control.resolve("postinst")).content().contains("-Xshare:dump");
    run(tmp.resolve("sh-n.log"), "sh", "-n", control.resolve("postinst").toString());
    run(tmp.resolve("sh-n2.log"), "sh", "-n", control.resolve("prerm").toString());
    // the aarch64 .deb: its architecture, and its runtime when one was linked
    Path armDeb = buildDeb(arm, "linux-aarch64", "arm64");
    assertThat(run(tmp.resolve("info-arm.log"), "dpkg-deb", "--info", armDeb.toString()))
        .contains("Architecture: arm64");
    assertThat(run(tmp.resolve("contents-arm.log"), "dpkg-deb", "-c", armDeb.toString()))
        .contains("./opt/mass-edge/agent/native/libonnxruntime.so")
        .matches(
            c ->
                c.contains("./opt/mass-edge/agent/runtime/bin/java")
                    == Files.isDirectory(arm.resolve("runtime")),
            "carries the runtime exactly when the bundle has one");
    Path scratch = tmp.resolve("root");
    Files.createDirectories(scratch.resolve("var/lib/dpkg/updates"));
    Files.createDirectories(scratch.resolve("var/lib/dpkg/info"));
    Files.createFile(scratch.resolve("var/lib/dpkg/status"));
    run(
        tmp.resolve("dpkg.log"),
        "dpkg",
        "--root=" + scratch,
        "--force-not-root",
        "--force-depends",
        "--unpack",
        deb.toString());
    assertThat(run(tmp.resolve("status.log"), "dpkg", "--root=" + scratch, "-s", "mass-edge-agent"))
        .contains("Status: install ok unpacked");
    assertThat(scratch.resolve("opt/mass-edge/agent/bin/mass-agent")).isExecutable();
    assertThat(scratch.resolve("opt/mass-edge/agent/runtime/bin/java")).isExecutable();
    assertThat(scratch.resolve("etc/mass-edge/agent.yml.dpkg-new")).exists(); // a conffile
    Path units = scratch.resolve("lib/systemd/system");
    assertThat(units.resolve("mass-agent.service")).content().contains("Restart=on-failure");

    Assumptions.assumeTrue(
        Files.isExecutable(Path.of("/usr/bin/systemd-analyze")),
        "systemd-analyze is not installed here");
    // the units are checked against the scratch root: systemd's own targets copied in beside them
    Path targets = Files.createDirectories(scratch.resolve("usr/lib/systemd/system"));
    try (Stream<Path> t = Files.list(Path.of("/usr/lib/systemd/system"))) {
      for (Path p : t.filter(p -> p.toString().endsWith(".target")).toList()) {
        Files.copy(p, targets.resolve(p.getFileName()), java.nio.file.LinkOption.NOFOLLOW_LINKS);
      }
    }
    run(
        tmp.resolve("verify.log"),
        "systemd-analyze",
        "verify",
        "--man=no",
        "--root=" + scratch,
        units.resolve("mass-agent.service").toString(),
        units.resolve("mass-agent-watchdog.service").toString(),
        units.resolve("mass-agent-watchdog.timer").toString());
  }

  /**
   * The shared libraries the bundle's native code (its runtime's and {@code native/}) links from
   * the system: every NEEDED entry ({@code readelf -d}) that the bundle does not carry itself,
   * leaving out AWT's X11 toolkit and splash screen (the agent runs headless, they are never
   * loaded).
   */
  java.util.Set<String> systemLibraries(Path bundle) throws Exception {
    List<Path> libs = new ArrayList<>();
    for (String dir : new String[] {"native", "runtime"}) {
      try (Stream<Path> files = Files.walk(bundle.resolve(dir))) {
        files.filter(f -> f.getFileName().toString().endsWith(".so")).forEach(libs::add);
      }
    }
    java.util.Set<String> carried = new java.util.HashSet<>();
    libs.forEach(f -> carried.add(f.getFileName().toString()));
    libs.removeIf(f -> f.getFileName().toString().matches("lib(awt_xawt|splashscreen)\\.so"));
    java.util.Set<String> needed = new java.util.TreeSet<>();
    for (Path lib : libs) {
      String out = run(tmp.resolve("readelf.log"), "readelf", "-d", lib.toString());
      java.util.regex.Matcher m =
          java.util.regex.Pattern.compile("\\(NEEDED\\).*\\[(.+)\\]").matcher(out);
      while (m.find()) {
        String soname = m.group(1);
        if (!carried.contains(soname.replaceAll("(\\.so)(\\.[0-9]+)+$", "$1"))) {
          needed.add(soname);
        }
      }
    }
    assertThat(needed).as("libraries found").contains("libz.so.1", "libstdc++.so.6");
    return needed;
  }

  /** {@code build-deb.sh} on a bundle: the .deb's path. */
  Path buildDeb(Path bundle, String platform, String debianArch) throws Exception {
    Path deb = tmp.resolve("mass-edge-agent_" + debianArch + ".deb");
    run(
        tmp.resolve("deb-" + debianArch + ".log"),
        PACKAGING.resolve("build-deb.sh").toString(),
        bundle.toString(),
        platform,
        deb.toString());
    return deb;
  }

  /**
   * Starts the bundle's agent with its data in {@code data}, waits for it, finds a face through
   * {@code /v1/faces}, stops it; returns the files it had mapped (from {@code /proc/PID/maps}).
   */
  List<String> startAndFindAFace(Path bundle, Path data, String name) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path log = tmp.resolve("agent-" + name + ".log");
    ProcessBuilder pb =
        new ProcessBuilder(
                bundle.resolve("bin/mass-agent").toString(),
                "-Dmicronaut.server.port=" + port,
                "-Dmass.agent.models-dir=" + bundle.resolve("models"),
                "-Dmass.agent.api-token-file=" + data.resolve("api-token"),
                "-Dmass.sync.store-dir=" + data.resolve("store"),
                "-Dmass.sync.outbox-dir=" + data.resolve("outbox"),
                "-Dmass.batch.dir=" + data.resolve("batch"),
                "-Dmass.coap.enabled=false",
                "-Djava.io.tmpdir=" + data)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    pb.environment().put("STATE_DIRECTORY", data.toString()); // as systemd sets it
    Process agent = pb.start();
    try {
      HttpClient http = HttpClient.newHttpClient();
      URI base = URI.create("http://127.0.0.1:" + port);
      await()
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(500))
          .until(
              () -> {
                if (!agent.isAlive()) {
                  throw new AssertionError("the agent died:\n" + Files.readString(log));
                }
                try {
                  return http.send(
                              HttpRequest.newBuilder(base.resolve("/v2/health/ready")).build(),
                              HttpResponse.BodyHandlers.discarding())
                          .statusCode()
                      == 200;
                } catch (IOException notYet) {
                  return false;
                }
              });
      HttpResponse<String> faces =
          http.send(
              HttpRequest.newBuilder(base.resolve("/v1/faces"))
                  .header(
                      "Authorization",
                      "Bearer " + Files.readString(data.resolve("api-token")).trim())
                  .POST(
                      HttpRequest.BodyPublishers.ofFile(
                          dev.massedge.inference.TestAssets.media("astronaut.png")))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(faces.statusCode()).as(faces.body()).isEqualTo(200);
      assertThat(faces.body()).contains("\"score\"");
      return Files.readAllLines(Path.of("/proc/" + agent.pid() + "/maps")).stream()
          .map(l -> l.substring(l.lastIndexOf(' ') + 1))
          .distinct()
          .toList();
    } finally {
      agent.destroy();
      assertThat(agent.waitFor(60, TimeUnit.SECONDS)).as("the agent stopped").isTrue();
    }
  }
}
