package dev.massedge.bridge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * The fleet manager's command line, a client of the bridge's REST API:
 *
 * <pre>
 * mass devices ls [--tag T]            mass devices tag ID TAG...
 * mass models ls                       mass models push DIR|ZIP [--notes TEXT]
 * mass rollout start --model M --version V [--tags a,b] [--phases 1,10,50,100] [--soak S] [--watch]
 * mass rollout ls | status ID [--watch] | pause ID | resume ID | abort ID
 * mass infer --device D --model M FILE [--timeout S]   (a device's model, over MQTT)
 * </pre>
 *
 * The bridge is {@code MASS_BRIDGE_URL} (default http://127.0.0.1:8090); the token is {@code
 * MASS_TOKEN}, else the admin token the bridge keeps in {@code $MASS_BRIDGE_DATA/admin-token}.
 */
public final class Cli {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final PrintStream out;
  private final URI base;
  private final String token;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  Cli(PrintStream out, URI base, String token) {
    this.out = out;
    this.base = base;
    this.token = token;
  }

  /** Runs one command; returns the process exit status. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, out, err, System.getenv());
  }

  /** Runs one command with {@code env} for the environment. */
  static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env) {
    String url = env(env, "MASS_BRIDGE_URL", "http://127.0.0.1:8090");
    String token = env.get("MASS_TOKEN");
    if (token == null) {
      Path f = Path.of(env(env, "MASS_BRIDGE_DATA", "data/bridge")).resolve("admin-token");
      try {
        token = Files.exists(f) ? Files.readString(f).trim() : null;
      } catch (IOException e) {
        token = null;
      }
    }
    try {
      return new Cli(out, URI.create(url.endsWith("/") ? url : url + "/"), token).dispatch(args);
    } catch (UsageException e) {
      err.println(e.getMessage());
      err.println(USAGE);
      return 2;
    } catch (ApiException e) {
      err.println("error: " + e.getMessage());
      return 1;
    } catch (IOException e) {
      err.println("error: cannot reach the bridge at " + url + ": " + e);
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 130;
    }
  }

  static final String USAGE =
      """
      usage: mass devices ls [--tag T] | devices tag ID TAG...
             mass models ls | models push DIR|ZIP [--notes TEXT]
             mass rollout start --model M --version V [--tags a,b] [--phases 1,10,50,100] [--soak SECONDS] [--watch]
             mass rollout ls | rollout status ID [--watch] | rollout pause|resume|abort ID
             mass infer --device D --model M FILE [--timeout SECONDS]
             mass broker acl | broker passwd FILE DEVICE   (the device ACL; a device's password)
             mass ca init DIR | ca device DIR ID [--days N] [--out D] | ca server DIR HOST... | ca revoke DIR ID
      (MASS_BRIDGE_URL, MASS_TOKEN or $MASS_BRIDGE_DATA/admin-token)""";

  private static String env(Map<String, String> env, String k, String d) {
    String v = env.get(k);
    return v == null || v.isBlank() ? d : v;
  }

  /**
   * Broker security, locally (no bridge needed): {@code broker acl} prints the Mosquitto ACL file
   * of the device ACL; {@code broker passwd FILE DEVICE} gives a device a new random password in a
   * mosquitto_passwd file (the embedded broker reads the same, {@code mass.bridge.mqtt-passwords})
   * and prints it once, for the device's {@code mass.sync.password}.
   */
  private int broker(String[] a) throws IOException {
    switch (a[1]) {
      case "acl" -> {
        out.print(
            dev.massedge.sync.broker.DeviceAcl.mosquittoAcl(
                List.of(dev.massedge.bridge.mqtt.BridgeLink.ADMIN_USER)));
        return 0;
      }
      case "passwd" -> {
        if (a.length != 4) {
          throw new UsageException("broker passwd FILE DEVICE");
        }
        Path file = Path.of(a[2]);
        String device = a[3];
        dev.massedge.sync.contract.Topics.status(device); // a device id, or a clear refusal
        byte[] raw = new byte[18];
        new java.security.SecureRandom().nextBytes(raw);
        String password = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        List<String> lines = new java.util.ArrayList<>();
        if (Files.exists(file)) {
          for (String l : Files.readAllLines(file)) {
            if (!l.startsWith(device + ":")) {
              lines.add(l);
            }
          }
        }
        lines.add(dev.massedge.sync.broker.PasswordFile.entry(device, password));
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, lines);
        Files.move(
            tmp,
            file,
            java.nio.file.StandardCopyOption.REPLACE_EXISTING,
            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        out.println(password);
        return 0;
      }
      default -> throw new UsageException("broker acl | broker passwd FILE DEVICE");
    }
  }

  /**
   * The fleet's device CA, locally: {@code ca init DIR} makes it; {@code ca device DIR ID} issues a
   * device's client certificate ({@code ID.pem}, {@code ID.key} in {@code --out}, DIR by default);
   * {@code ca server DIR HOST...} the broker's ({@code server.pem}, {@code server.key} in DIR);
   * {@code ca revoke DIR ID} revokes a device's certificates and writes the new {@code crl.pem}.
   */
  private int ca(String[] a) throws IOException {
    List<String> pos = positional(a, 1);
    Map<String, String> opt = options(a, 1);
    if (pos.size() < 2) {
      throw new UsageException(
          "ca init DIR | ca device DIR ID [--days N] [--out D] | ca server DIR HOST... | ca revoke"
              + " DIR ID");
    }
    Path dir = Path.of(pos.get(1));
    java.time.Duration days =
        java.time.Duration.ofDays(Long.parseLong(opt.getOrDefault("days", "365")));
    switch (pos.get(0)) {
      case "init" -> {
        var ca =
            dev.massedge.sync.broker.DeviceCa.init(
                dir, "Mass Edge fleet CA", java.time.Duration.ofDays(3650));
        out.println("CA made in " + dir + " (" + ca.certificate().getSubjectX500Principal() + ")");
        out.println(
            "keep " + dir.resolve("ca.key") + " secret; give devices " + dir.resolve("ca.pem"));
      }
      case "device" -> {
        if (pos.size() != 3) {
          throw new UsageException("ca device DIR ID [--days N] [--out D]");
        }
        Path to = Path.of(opt.getOrDefault("out", dir.toString()));
        java.time.Instant now = java.time.Instant.now();
        var c =
            dev.massedge.sync.broker.DeviceCa.load(dir)
                .issueDevice(pos.get(2), now.minusSeconds(300), now.plus(days), to);
        out.println(
            "issued "
                + to.resolve(pos.get(2) + ".pem")
                + " and "
                + to.resolve(pos.get(2) + ".key")
                + ", valid until "
                + c.getNotAfter().toInstant());
      }
      case "server" -> {
        if (pos.size() < 3) {
          throw new UsageException("ca server DIR HOST... (the names and addresses clients dial)");
        }
        dev.massedge.sync.broker.DeviceCa.load(dir)
            .issueServer("server", pos.subList(2, pos.size()), days, dir);
        out.println("issued " + dir.resolve("server.pem") + " for " + pos.subList(2, pos.size()));
      }
      case "revoke" -> {
        if (pos.size() != 3) {
          throw new UsageException("ca revoke DIR ID");
        }
        int n = dev.massedge.sync.broker.DeviceCa.load(dir).revoke(pos.get(2));
        out.println(
            "revoked "
                + n
                + " certificate(s) of "
                + pos.get(2)
                + "; "
                + dir.resolve("crl.pem")
                + " updated (the embedded broker reads it at once; reload Mosquitto)");
      }
      default -> throw new UsageException("ca init | device | server | revoke");
    }
    return 0;
  }

  static final class UsageException extends RuntimeException {
    UsageException(String m) {
      super(m);
    }
  }

  static final class ApiException extends RuntimeException {
    ApiException(String m) {
      super(m);
    }
  }

  int dispatch(String[] a) throws IOException, InterruptedException {
    if (a.length >= 2 && a[0].equals("broker")) {
      return broker(a);
    }
    if (a.length >= 2 && a[0].equals("ca")) {
      return ca(a);
    }
    if (a.length >= 1 && a[0].equals("infer")) {
      Map<String, String> opt = options(a, 1);
      List<String> files = positional(a, 1);
      if (files.size() != 1) {
        throw new UsageException(
            "infer --device D --model M FILE (an Open Inference Protocol request)");
      }
      JsonNode r =
          call(
              "POST",
              "api/v1/devices/"
                  + required(opt, "device")
                  + "/infer/"
                  + required(opt, "model")
                  + (opt.containsKey("timeout") ? "?timeout=" + opt.get("timeout") : ""),
              "application/json",
              Files.readAllBytes(Path.of(files.get(0))));
      out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r));
      return 0;
    }
    if (a.length < 2) {
      throw new UsageException("what should be done?");
    }
    Map<String, String> opt = options(a, 2);
    switch (a[0] + " " + a[1]) {
      case "devices ls" -> devices(opt.get("tag"));
      case "devices tag" -> {
        List<String> rest = positional(a, 2);
        if (rest.isEmpty()) {
          throw new UsageException("devices tag ID TAG...");
        }
        ObjectNode b = JSON.createObjectNode();
        b.putArray("tags")
            .addAll(
                rest.subList(1, rest.size()).stream()
                    .map(JSON::valueToTree)
                    .map(JsonNode.class::cast)
                    .toList());
        call(
            "PUT",
            "api/v1/devices/" + rest.get(0) + "/tags",
            "application/json",
            JSON.writeValueAsBytes(b));
        devices(null);
      }
      case "models ls" -> models();
      case "models push" -> {
        List<String> rest = positional(a, 2);
        if (rest.isEmpty()) {
          throw new UsageException("models push DIR|ZIP");
        }
        byte[] zip = zip(Path.of(rest.get(0)));
        String q =
            opt.containsKey("notes")
                ? "?notes="
                    + java.net.URLEncoder.encode(
                        opt.get("notes"), java.nio.charset.StandardCharsets.UTF_8)
                : "";
        JsonNode m = call("POST", "api/v1/models" + q, "application/zip", zip);
        out.printf(
            "added %s v%s: %d bytes in %d chunks, signed manifest %s, smoke test %.1f ms%n",
            m.path("name").asText(),
            m.path("version").asText(),
            m.path("sizeBytes").asLong(),
            m.path("chunks").asInt(),
            m.path("manifestSha256").asText().substring(0, 12),
            m.path("smokeMs").asDouble());
      }
      case "rollout ls" -> rollouts();
      case "rollout start" -> {
        ObjectNode b = JSON.createObjectNode();
        b.put("model", required(opt, "model"));
        b.put("version", required(opt, "version"));
        if (opt.containsKey("tags")) {
          b.putArray("tags")
              .addAll(
                  Arrays.stream(opt.get("tags").split(","))
                      .map(JSON::valueToTree)
                      .map(JsonNode.class::cast)
                      .toList());
        }
        if (opt.containsKey("phases")) {
          var p = b.putArray("phases");
          Arrays.stream(opt.get("phases").split(","))
              .map(String::trim)
              .map(Integer::valueOf)
              .forEach(p::add);
        }
        if (opt.containsKey("soak")) {
          Map<String, Object> g = new LinkedHashMap<>(JSON.convertValue(DEFAULT_GATES, Map.class));
          g.put("soakSeconds", Long.parseLong(opt.get("soak")));
          b.set("gates", JSON.valueToTree(g));
        }
        JsonNode r = call("POST", "api/v1/rollouts", "application/json", JSON.writeValueAsBytes(b));
        out.printf(
            "rollout %d started: %s v%s to %d devices%n",
            r.path("id").asLong(),
            r.path("model").asText(),
            r.path("version").asText(),
            r.path("devices").asLong());
        if (opt.containsKey("watch")) {
          return watch(r.path("id").asLong());
        }
        status(r);
      }
      case "rollout status" -> {
        long id =
            Long.parseLong(
                positional(a, 2).stream()
                    .findFirst()
                    .orElseThrow(() -> new UsageException("rollout status ID")));
        if (opt.containsKey("watch")) {
          return watch(id);
        }
        status(call("GET", "api/v1/rollouts/" + id, null, null));
      }
      case "rollout pause", "rollout resume", "rollout abort" -> {
        long id =
            Long.parseLong(
                positional(a, 2).stream()
                    .findFirst()
                    .orElseThrow(() -> new UsageException("rollout " + a[1] + " ID")));
        status(call("POST", "api/v1/rollouts/" + id + "/" + a[1], "application/json", new byte[0]));
      }
      default -> throw new UsageException("unknown command: " + a[0] + " " + a[1]);
    }
    return 0;
  }

  private static final Map<String, Object> DEFAULT_GATES =
      Map.of(
          "successThreshold", 1.0,
          "failureThreshold", 0.0,
          "maxErrorRate", 0.05,
          "maxLatencyRatio", 1.5,
          "maxDetectionChange", 0.5,
          "soakSeconds", 30);

  private static String required(Map<String, String> opt, String k) {
    String v = opt.get(k);
    if (v == null) {
      throw new UsageException("--" + k + " is required");
    }
    return v;
  }

  private static Map<String, String> options(String[] a, int from) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = from; i < a.length; i++) {
      if (a[i].startsWith("--")) {
        String k = a[i].substring(2);
        if (i + 1 < a.length && !a[i + 1].startsWith("--")) {
          m.put(k, a[++i]);
        } else {
          m.put(k, "true");
        }
      }
    }
    return m;
  }

  private static List<String> positional(String[] a, int from) {
    List<String> l = new ArrayList<>();
    for (int i = from; i < a.length; i++) {
      if (a[i].startsWith("--")) {
        if (i + 1 < a.length && !a[i + 1].startsWith("--") && !a[i].equals("--watch")) {
          i++;
        }
      } else {
        l.add(a[i]);
      }
    }
    return l;
  }

  JsonNode call(String method, String path, String type, byte[] body)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofMinutes(5));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (type != null) {
      b.header("Content-Type", type);
    }
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(body));
    HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    JsonNode n = r.body().length == 0 ? JSON.nullNode() : JSON.readTree(r.body());
    if (r.statusCode() >= 300) {
      throw new ApiException(
          r.statusCode()
              + " "
              + n.path("code").asText("")
              + ": "
              + n.path("message")
                  .asText(new String(r.body(), java.nio.charset.StandardCharsets.UTF_8)));
    }
    return n;
  }

  private void devices(String tag) throws IOException, InterruptedException {
    JsonNode l = call("GET", "api/v1/devices" + (tag == null ? "" : "?tag=" + tag), null, null);
    List<String[]> rows = new ArrayList<>();
    rows.add(
        new String[] {
          "DEVICE", "STATE", "TAGS", "AGENT", "ARCH", "MODELS", "IN SYNC", "LAST SEEN"
        });
    for (JsonNode d : l) {
      List<String> models = new ArrayList<>();
      d.path("models")
          .fields()
          .forEachRemaining(
              e ->
                  models.add(
                      e.getKey()
                          + "@"
                          + e.getValue().path("active").asText("-")
                          + stateSuffix(e.getValue())));
      List<String> tags = new ArrayList<>();
      d.path("tags").forEach(t -> tags.add(t.asText()));
      rows.add(
          new String[] {
            d.path("id").asText(),
            d.path("online").asBoolean() ? "online" : "offline",
            String.join(",", tags),
            d.path("agentVersion").asText("-"),
            d.path("arch").asText("-"),
            String.join(" ", models),
            d.path("inSync").asBoolean() ? "yes" : "no",
            ago(d.path("lastSeen").asLong())
          });
    }
    table(rows);
  }

  private static String stateSuffix(JsonNode s) {
    String st = s.path("state").asText("");
    return st.isEmpty() || st.equals("active")
        ? ""
        : " (" + st + (s.path("pending").isTextual() ? " " + s.path("pending").asText() : "") + ")";
  }

  private void models() throws IOException, InterruptedException {
    List<String[]> rows = new ArrayList<>();
    rows.add(
        new String[] {
          "MODEL", "VERSION", "TASK", "ENGINE", "SIZE", "CHUNKS", "MANIFEST", "BY", "NOTES"
        });
    for (JsonNode m : call("GET", "api/v1/models", null, null)) {
      rows.add(
          new String[] {
            m.path("name").asText(),
            m.path("version").asText(),
            m.path("task").asText(),
            m.path("engine").asText(),
            String.format("%.1f MB", m.path("sizeBytes").asLong() / 1e6),
            m.path("chunks").asText(),
            m.path("manifestSha256").asText().substring(0, 12),
            m.path("uploadedBy").asText(""),
            m.path("notes").asText("")
          });
    }
    table(rows);
  }

  private void rollouts() throws IOException, InterruptedException {
    List<String[]> rows = new ArrayList<>();
    rows.add(
        new String[] {
          "ID", "MODEL", "VERSION", "TAGS", "PHASES", "PHASE", "STATE", "DEVICES", "PROGRESS"
        });
    for (JsonNode r : call("GET", "api/v1/rollouts", null, null)) {
      rows.add(
          new String[] {
            r.path("id").asText(),
            r.path("model").asText(),
            r.path("version").asText(),
            r.path("selector").asText(),
            r.path("phases").asText(),
            r.path("phase").asText(),
            r.path("state").asText(),
            r.path("devices").asText(),
            r.path("states").toString()
          });
    }
    table(rows);
  }

  private void status(JsonNode r) {
    out.println(progressLine(r));
    if (!r.path("reason").isNull() && !r.path("reason").asText().isEmpty()) {
      out.println("  reason: " + r.path("reason").asText());
    }
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"PHASE", "PERCENT", "DEVICES", "STATES"});
    int k = 1;
    for (JsonNode p : r.path("phaseList")) {
      rows.add(
          new String[] {
            String.valueOf(k++),
            p.path("percent").asText() + " %",
            p.path("devices").asText(),
            p.path("states").toString()
          });
    }
    table(rows);
    rows = new ArrayList<>();
    rows.add(new String[] {"DEVICE", "PHASE", "STATE", "ONLINE", "PREVIOUS", "ERROR"});
    for (JsonNode d : r.path("deviceList")) {
      rows.add(
          new String[] {
            d.path("device").asText(),
            d.path("phase").asText(),
            d.path("state").asText(),
            d.path("online").asBoolean() ? "yes" : "no",
            d.path("previousVersion").asText("-"),
            d.path("error").asText("")
          });
    }
    table(rows);
    if (r.path("health").size() > 0) {
      out.println("health: " + r.path("health"));
    }
  }

  /** {@code [#####.....] 5/10 done phase 2/4 running}. */
  static String progressLine(JsonNode r) {
    long total = r.path("devices").asLong();
    long done = r.path("states").path("succeeded").asLong();
    int width = 30;
    int filled = total == 0 ? 0 : (int) (width * done / total);
    return String.format(
        "rollout %d %s v%s [%s%s] %d/%d on v%s  phase %s/%d  %s%s",
        r.path("id").asLong(),
        r.path("model").asText(),
        r.path("version").asText(),
        "#".repeat(filled),
        ".".repeat(width - filled),
        done,
        total,
        r.path("version").asText(),
        r.path("phase").asText(),
        r.path("phases").asText().split(",").length,
        r.path("state").asText(),
        r.path("states").path("failed").asLong() > 0
            ? "  failed " + r.path("states").path("failed").asLong()
            : "");
  }

  private int watch(long id) throws IOException, InterruptedException {
    boolean tty = System.console() != null;
    String last = "";
    while (true) {
      JsonNode r = call("GET", "api/v1/rollouts/" + id, null, null);
      String line = progressLine(r);
      if (!line.equals(last)) {
        out.print(tty ? "\r" + line + "   " : line + "\n");
        out.flush();
        last = line;
      }
      String s = r.path("state").asText();
      if (!s.equals("running")) {
        out.println();
        status(r);
        return s.equals("completed") ? 0 : 1;
      }
      Thread.sleep(1000);
    }
  }

  private void table(List<String[]> rows) {
    int[] w = new int[rows.get(0).length];
    for (String[] r : rows) {
      for (int i = 0; i < r.length; i++) {
        w[i] = Math.max(w[i], r[i] == null ? 0 : r[i].length());
      }
    }
    for (String[] r : rows) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < r.length; i++) {
        b.append(String.format("%-" + (w[i] + 2) + "s", r[i] == null ? "" : r[i]));
      }
      out.println(b.toString().stripTrailing());
    }
  }

  private static String ago(long epochMillis) {
    if (epochMillis == 0) {
      return "-";
    }
    long s = Duration.between(Instant.ofEpochMilli(epochMillis), Instant.now()).toSeconds();
    return s < 60 ? s + " s ago" : s < 3600 ? s / 60 + " min ago" : s / 3600 + " h ago";
  }

  /** A model directory as a zip (a .zip file is sent as it is). */
  public static byte[] zip(Path p) throws IOException {
    if (Files.isRegularFile(p)) {
      return Files.readAllBytes(p);
    }
    if (!Files.isRegularFile(p.resolve("model.json"))) {
      throw new UsageException(p + " is neither a zip nor a model directory with model.json");
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(bytes);
        Stream<Path> files = Files.list(p)) {
      for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
        z.putNextEntry(new ZipEntry(f.getFileName().toString()));
        Files.copy(f, z);
        z.closeEntry();
      }
    }
    return bytes.toByteArray();
  }
}
