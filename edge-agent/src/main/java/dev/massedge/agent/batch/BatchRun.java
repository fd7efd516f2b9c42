package dev.massedge.agent.batch;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.agent.api.TaskController;
import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.Engines;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.model.LoadedModel;
import dev.massedge.inference.model.ModelRepository;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Batch inference over a folder ({@code ./mass batch DIR --out results.jsonl}): every image (JPEG,
 * PNG) → its faces, every WAV → its speech segments, with the same models, decoders and defaults as
 * the agent's {@code /v1/faces} and {@code /v1/vad}, so the results are the same. One JSON line per
 * item ({@code input}, {@code task}, {@code result} or {@code error}), written as each finishes.
 *
 * <p>Resumable: items already in the output are skipped on a rerun (a line torn by a kill is cut
 * off first). A file that cannot be read is an error line, and the run goes on. Parallel without
 * oversubscribing: N workers (the cores by default), each with its own model sessions of one
 * intra-op thread — BlazeFace has no batch dimension, so frames run in parallel sessions instead of
 * micro-batches. Progress (count, rate, ETA) on stderr.
 */
public final class BatchRun {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> IMAGES = Set.of("jpg", "jpeg", "png");

  /** What a run did: items in the folder, skipped as done, processed now, errors among them. */
  public record Summary(int items, int skipped, int processed, int errors, double seconds) {}

  private BatchRun() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opt = new LinkedHashMap<>();
    List<String> pos = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].startsWith("--") && i + 1 < args.length) {
        opt.put(args[i].substring(2), args[++i]);
      } else {
        pos.add(args[i]);
      }
    }
    if (pos.size() != 1 || !opt.containsKey("out")) {
      System.err.println(
          "usage: mass batch DIR --out RESULTS.jsonl [--workers N] [--models DIR]"
              + " [--face-model NAME] [--vad-model NAME] [--csv RESULTS.csv]");
      System.exit(2);
    }
    Summary s =
        run(
            Path.of(pos.get(0)),
            Path.of(opt.get("out")),
            Path.of(opt.getOrDefault("models", System.getProperty("mass.models.dir", "models"))),
            opt.getOrDefault("face-model", "face-blazeface-128"),
            opt.getOrDefault("vad-model", "vad-silero"),
            Integer.parseInt(
                opt.getOrDefault(
                    "workers", Integer.toString(Runtime.getRuntime().availableProcessors()))),
            System.err);
    if (opt.containsKey("csv")) {
      csv(Path.of(opt.get("out")), Path.of(opt.get("csv")));
    }
    System.exit(0);
  }

  public static Summary run(
      Path dir,
      Path out,
      Path models,
      String faceModel,
      String vadModel,
      int workers,
      PrintStream progress)
      throws IOException, InterruptedException {
    if (!Files.isDirectory(dir)) {
      throw new IOException(dir + " is not a directory");
    }
    List<Path> items;
    try (Stream<Path> s = Files.walk(dir)) {
      items =
          s.filter(Files::isRegularFile)
              .filter(p -> IMAGES.contains(ext(p)) || ext(p).equals("wav"))
              .sorted()
              .toList();
    }
    Set<String> done = done(out);
    List<Path> todo = new ArrayList<>();
    for (Path p : items) {
      if (!done.contains(dir.relativize(p).toString())) {
        todo.add(p);
      }
    }
    long t0 = System.nanoTime();
    AtomicInteger processed = new AtomicInteger();
    AtomicInteger errors = new AtomicInteger();
    if (!todo.isEmpty()) {
      int n = Math.max(1, Math.min(workers, todo.size()));
      BlockingQueue<Path> queue = new ArrayBlockingQueue<>(todo.size(), false, todo);
      AtomicLong lastDraw = new AtomicLong();
      try (FileChannel ch =
              FileChannel.open(
                  out,
                  StandardOpenOption.CREATE,
                  StandardOpenOption.WRITE,
                  StandardOpenOption.APPEND);
          ModelRepository repo = new ModelRepository(new Engines(), EngineOptions.cpu(1))) {
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        for (int w = 0; w < n; w++) {
          // each worker its own sessions: no lock between them, one engine thread each
          LoadedModel face = open(repo, models.resolve(faceModel));
          LoadedModel vad = open(repo, models.resolve(vadModel));
          Thread t =
              new Thread(
                  () -> {
                    Path p;
                    while ((p = queue.poll()) != null) {
                      byte[] line = line(dir, p, face, vad, errors);
                      synchronized (ch) {
                        try {
                          ch.write(java.nio.ByteBuffer.wrap(line));
                        } catch (IOException e) {
                          synchronized (failures) {
                            failures.add(e);
                          }
                          return;
                        }
                      }
                      int k = processed.incrementAndGet();
                      draw(progress, k, todo.size(), done.size(), t0, lastDraw, false);
                    }
                  },
                  "batch-" + w);
          threads.add(t);
          t.start();
        }
        for (Thread t : threads) {
          t.join();
        }
        ch.force(true);
        if (!failures.isEmpty()) {
          throw new IOException("cannot write " + out + ": " + failures.get(0).getMessage());
        }
      }
      draw(progress, processed.get(), todo.size(), done.size(), t0, lastDraw, true);
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    progress.printf(
        Locale.ROOT,
        "%d items: %d done before (skipped), %d processed now (%d errors) in %.1f s%n",
        items.size(),
        items.size() - todo.size(),
        processed.get(),
        errors.get(),
        secs);
    return new Summary(
        items.size(), items.size() - todo.size(), processed.get(), errors.get(), secs);
  }

  private static LoadedModel open(ModelRepository repo, Path dir) {
    LoadedModel m = repo.open(dir);
    if (!m.ready()) {
      throw new InferenceException(
          "model_not_ready", "model " + dir + " is not ready: " + m.failure().message());
    }
    return m;
  }

  /** One result line: the response the agent's task endpoints return, or the error. */
  private static byte[] line(
      Path dir, Path p, LoadedModel face, LoadedModel vad, AtomicInteger errors) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("input", dir.relativize(p).toString());
    boolean image = IMAGES.contains(ext(p));
    m.put("task", image ? "faces" : "vad");
    try {
      byte[] body = Files.readAllBytes(p);
      m.put(
          "result", image ? TaskController.faces(face, body, null) : TaskController.vad(vad, body));
    } catch (InferenceException e) {
      errors.incrementAndGet();
      m.put("error", Map.of("code", e.code(), "message", String.valueOf(e.getMessage())));
    } catch (IOException | RuntimeException e) {
      errors.incrementAndGet();
      m.put("error", Map.of("code", "unreadable", "message", e.toString()));
    }
    try {
      return (JSON.writeValueAsString(m) + "\n").getBytes(StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The inputs an earlier run finished; a last line torn by a kill is cut off so the file stays one
   * JSON object per line.
   */
  static Set<String> done(Path out) throws IOException {
    Set<String> done = new HashSet<>();
    if (!Files.exists(out)) {
      return done;
    }
    long good = 0;
    try (BufferedReader r = Files.newBufferedReader(out, StandardCharsets.UTF_8)) {
      String line;
      long pos = 0;
      while ((line = r.readLine()) != null) {
        pos += line.getBytes(StandardCharsets.UTF_8).length + 1;
        try {
          var n = JSON.readTree(line);
          if (n == null || !n.has("input")) {
            break;
          }
          done.add(n.get("input").asText());
          good = pos;
        } catch (IOException torn) {
          break;
        }
      }
    }
    if (good < Files.size(out)) {
      try (FileChannel ch = FileChannel.open(out, StandardOpenOption.WRITE)) {
        ch.truncate(good);
      }
    }
    return done;
  }

  private static void draw(
      PrintStream out, int k, int total, int before, long t0, AtomicLong last, boolean end) {
    long now = System.nanoTime();
    if (!end && now - last.get() < 200_000_000L) {
      return;
    }
    last.set(now);
    double secs = (now - t0) / 1e9;
    double rate = k / Math.max(secs, 1e-9);
    int width = 30;
    int filled = (int) ((long) width * k / Math.max(1, total));
    synchronized (out) {
      out.printf(
          Locale.ROOT,
          "\r[%s%s] %d/%d  %.1f items/s  ETA %.0f s%s",
          "#".repeat(filled),
          ".".repeat(width - filled),
          k + before,
          total + before,
          rate,
          (total - k) / Math.max(rate, 1e-9),
          end ? "\n" : "");
    }
  }

  /** A CSV of the results: input, task, faces or segments, error code. */
  static void csv(Path jsonl, Path csv) throws IOException {
    List<String> rows = new ArrayList<>();
    rows.add("input,task,count,error");
    for (String line : Files.readAllLines(jsonl)) {
      var n = JSON.readTree(line);
      int count =
          n.path("result").has("faces")
              ? n.path("result").path("faces").size()
              : n.path("result").path("segments").size();
      rows.add(
          String.join(
              ",",
              '"' + n.path("input").asText().replace("\"", "\"\"") + '"',
              n.path("task").asText(),
              n.has("error") ? "" : Integer.toString(count),
              n.path("error").path("code").asText("")));
    }
    Files.write(csv, rows);
  }

  private static String ext(Path p) {
    String n = p.getFileName().toString();
    int dot = n.lastIndexOf('.');
    return dot < 0 ? "" : n.substring(dot + 1).toLowerCase(Locale.ROOT);
  }
}
