package dev.massedge.agent.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.agent.api.OipCodec;
import dev.massedge.agent.api.TaskController;
import dev.massedge.agent.pipeline.Snapshots;
import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.Engines;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.face.Face;
import dev.massedge.inference.image.ImageDecoder;
import dev.massedge.inference.image.RgbImage;
import dev.massedge.inference.model.LoadedModel;
import dev.massedge.inference.model.ModelRepository;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Batch inference ({@code ./mass batch INPUT --out results.jsonl}, or a {@code POST /v1/batch} job
 * on the agent) over a folder or one file:
 *
 * <ul>
 *   <li>an image (JPEG, PNG) → its faces, a WAV → its speech segments, with the same models,
 *       decoders and defaults as {@code /v1/faces} and {@code /v1/vad}, so the results are the
 *       same;
 *   <li>a video (mp4, mkv, webm, mov, avi …) → ffmpeg decodes it at {@code fps} frames per second
 *       (640 px on the long side at most) and every frame is an item ({@code clip.mp4#frame=12},
 *       with its time {@code t}), its faces in the video's own pixels; a last line {@code clip.mp4}
 *       says the video is done (frames, size) or why ffmpeg could not read it;
 *   <li>a JSONL of tensors → each line an Open Inference Protocol request (as {@code POST
 *       /v2/models/M/infer} takes, plus {@code "model"} where {@code --model} does not say) → its
 *       response ({@code tensors.jsonl#line=3}).
 * </ul>
 *
 * <p>One JSON line per item ({@code input}, {@code task}, {@code result} or {@code error}), written
 * as each finishes. Resumable: items already in the output are skipped on a rerun (a line torn by a
 * kill is cut off first). A file that cannot be read is an error line, and the run goes on. With
 * {@code annotate}, a JPEG with the boxes drawn for every image and every video frame with a face.
 * Parallel without oversubscribing: N workers (the cores by default), each with its own model
 * sessions of one intra-op thread — BlazeFace has no batch dimension, so frames run in parallel
 * sessions instead of micro-batches. Progress (count, rate, ETA) on a stream and from {@link
 * #progress()}; {@link #cancel()} stops it between items (a rerun resumes).
 */
public final class BatchRun {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> IMAGES = Set.of("jpg", "jpeg", "png");
  private static final Set<String> VIDEOS =
      Set.of("mp4", "m4v", "mkv", "webm", "mov", "avi", "mpg", "mpeg", "ts", "flv");
  private static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final int MAX_SIDE = 640;

  /**
   * What to run.
   *
   * @param input a folder (walked, in name order) or one file
   * @param out the JSONL results (appended to; what is in it is done)
   * @param models a model's name → its directory (throws {@link InferenceException} {@code
   *     model_not_found})
   * @param inferModel the model for JSONL lines that do not name one (null: each line must)
   * @param fps video frames analysed per second
   * @param annotate a folder for JPEGs with the boxes drawn, or null
   */
  public record Options(
      Path input,
      Path out,
      Function<String, Path> models,
      String faceModel,
      String vadModel,
      String inferModel,
      int workers,
      double fps,
      Path annotate) {
    public Options {
      if (workers < 1) {
        throw new IllegalArgumentException("workers must be at least 1, got " + workers);
      }
      if (!(fps > 0 && fps <= 120)) {
        throw new IllegalArgumentException("fps must be in (0, 120], got " + fps);
      }
    }
  }

  /**
   * What a run did: items found (video frames counted as decoded), skipped as done, processed now,
   * errors among them; cancelled if {@link #cancel()} stopped it.
   */
  public record Summary(
      int items, int skipped, int processed, int errors, double seconds, boolean cancelled) {}

  /** Where a run is: {@code total} is an estimate while videos are being decoded. */
  public record Progress(
      int total, int skipped, int processed, int errors, double rate, double etaSeconds) {}

  private final Options o;
  private volatile boolean cancelled;
  private final AtomicInteger total = new AtomicInteger();
  private final AtomicInteger skipped = new AtomicInteger();
  private final AtomicInteger processed = new AtomicInteger();
  private final AtomicInteger errors = new AtomicInteger();
  private final AtomicLong lastDraw = new AtomicLong();
  private volatile long t0 = System.nanoTime();
  private FileChannel ch;

  public BatchRun(Options o) {
    this.o = o;
  }

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
          "usage: mass batch INPUT --out RESULTS.jsonl [--workers N] [--fps F] [--annotate DIR]"
              + " [--csv RESULTS.csv] [--models DIR] [--face-model NAME] [--vad-model NAME]"
              + " [--model NAME (for JSONL tensors)]\n"
              + "  INPUT: a folder or a file — images, WAVs, videos, JSONL of inference requests");
      System.exit(2);
    }
    Path models =
        Path.of(opt.getOrDefault("models", System.getProperty("mass.models.dir", "models")));
    Options options;
    try {
      options =
          new Options(
              Path.of(pos.get(0)),
              Path.of(opt.get("out")),
              folder(models),
              opt.getOrDefault("face-model", "face-blazeface-128"),
              opt.getOrDefault("vad-model", "vad-silero"),
              opt.get("model"),
              Integer.parseInt(
                  opt.getOrDefault(
                      "workers", Integer.toString(Runtime.getRuntime().availableProcessors()))),
              Double.parseDouble(opt.getOrDefault("fps", "5")),
              opt.containsKey("annotate") ? Path.of(opt.get("annotate")) : null);
    } catch (IllegalArgumentException e) {
      System.err.println("mass batch: " + e.getMessage());
      System.exit(2);
      return;
    }
    try {
      new BatchRun(options).run(System.err);
    } catch (IOException e) {
      System.err.println("mass batch: " + e.getMessage());
      System.exit(1);
    }
    if (opt.containsKey("csv")) {
      csv(Path.of(opt.get("out")), Path.of(opt.get("csv")));
    }
    System.exit(0);
  }

  /**
   * Models as folders under {@code dir} (the bundled layout), found by folder name or by the {@code
   * name} in their {@code model.json} (what {@code /v2/models/<name>} calls them).
   */
  public static Function<String, Path> folder(Path dir) {
    return name -> {
      Path d = dir.resolve(name);
      if (Files.isRegularFile(d.resolve("model.json"))) {
        return d;
      }
      try (Stream<Path> s = Files.list(dir)) {
        for (Path c : s.sorted().toList()) {
          Path json = c.resolve("model.json");
          if (Files.isRegularFile(json)
              && name.equals(JSON.readTree(json.toFile()).path("name").asText())) {
            return c;
          }
        }
      } catch (IOException e) {
        throw new InferenceException("model_not_found", "cannot list models in " + dir + ": " + e);
      }
      throw new InferenceException("model_not_found", "no model '" + name + "' in " + dir);
    };
  }

  /** The run of the bundled CLI's defaults over a folder of images and WAVs (benchmarks). */
  public static Summary run(
      Path dir,
      Path out,
      Path models,
      String faceModel,
      String vadModel,
      int workers,
      PrintStream progress)
      throws IOException, InterruptedException {
    return new BatchRun(
            new Options(dir, out, folder(models), faceModel, vadModel, null, workers, 5, null))
        .run(progress);
  }

  /** Stops the run between items: what was written stays, and a rerun resumes. */
  public void cancel() {
    cancelled = true;
  }

  public Progress progress() {
    double secs = (System.nanoTime() - t0) / 1e9;
    int k = processed.get();
    double rate = k / Math.max(secs, 1e-9);
    int left = Math.max(0, total.get() - skipped.get() - k);
    return new Progress(
        total.get(), skipped.get(), k, errors.get(), rate, rate > 0 ? left / rate : -1);
  }

  /** One unit of work for a worker. */
  private sealed interface Task permits FileTask, FrameTask, TensorTask, Stop {}

  private record FileTask(String key, Path file, boolean image) implements Task {}

  private record FrameTask(String key, Video video, int index, RgbImage frame) implements Task {}

  private record TensorTask(String key, String line) implements Task {}

  private record Stop() implements Task {}

  /** A video being decoded: its frames in flight, so its closing line comes after them. */
  private static final class Video {
    final String key;
    final int width;
    final int height;
    int pending;

    Video(String key, int width, int height) {
      this.key = key;
      this.width = width;
      this.height = height;
    }

    synchronized void add() {
      pending++;
    }

    synchronized void done() {
      pending--;
      notifyAll();
    }

    synchronized void awaitFrames() throws InterruptedException {
      while (pending > 0) {
        wait();
      }
    }
  }

  public Summary run(PrintStream progress) throws IOException, InterruptedException {
    Path in = o.input();
    if (!Files.exists(in)) {
      throw new IOException(in + " does not exist");
    }
    Path base = Files.isDirectory(in) ? in : in.toAbsolutePath().getParent();
    List<Path> items;
    if (Files.isDirectory(in)) {
      try (Stream<Path> s = Files.walk(in)) {
        // never the results or the annotated pictures of this run, should they lie inside it
        Path outAbs = o.out().toAbsolutePath().normalize();
        Path ann = o.annotate() == null ? null : o.annotate().toAbsolutePath().normalize();
        items =
            s.filter(Files::isRegularFile)
                .filter(p -> kind(p) != null)
                .filter(p -> !p.toAbsolutePath().normalize().equals(outAbs))
                .filter(p -> ann == null || !p.toAbsolutePath().normalize().startsWith(ann))
                .sorted()
                .toList();
      }
    } else {
      if (kind(in) == null) {
        throw new IOException(
            in + " is not an image, WAV, video or JSONL file (by its extension), nor a folder");
      }
      items = List.of(in.toAbsolutePath());
    }
    Set<String> done = done(o.out());
    t0 = System.nanoTime();
    for (Path p : items) {
      String key = base.relativize(p).toString();
      switch (kind(p)) {
        case "video" ->
            total.addAndGet(done.contains(key) ? doneLines(done, key) : estimateFrames(p) + 1);
        case "jsonl" -> total.addAndGet(lineCount(p));
        default -> total.incrementAndGet();
      }
    }
    int n = Math.max(1, o.workers());
    BlockingQueue<Task> queue = new ArrayBlockingQueue<>(4 * n);
    List<Throwable> failures = new ArrayList<>();
    if (o.annotate() != null) {
      Files.createDirectories(o.annotate());
    }
    int found = 0;
    try (FileChannel out =
            FileChannel.open(
                o.out(),
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        ModelRepository repo = new ModelRepository(new Engines(), EngineOptions.cpu(1))) {
      this.ch = out;
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < n; w++) {
        Worker worker = new Worker(repo);
        Thread t =
            new Thread(
                () -> {
                  try {
                    worker.loop(queue, progress);
                  } catch (IOException | InterruptedException | RuntimeException e) {
                    synchronized (failures) {
                      failures.add(e);
                    }
                    cancelled = true;
                  }
                },
                "batch-" + w);
        threads.add(t);
        t.start();
      }
      try {
        for (Path p : items) {
          if (cancelled) {
            break;
          }
          String key = base.relativize(p).toString();
          switch (kind(p)) {
            case "image", "wav" -> {
              found++;
              if (done.contains(key)) {
                skipped.incrementAndGet();
              } else {
                queue.put(new FileTask(key, p, kind(p).equals("image")));
              }
            }
            case "jsonl" -> found += tensors(key, p, done, queue);
            default -> found += video(key, p, done, queue);
          }
        }
      } finally {
        for (int w = 0; w < n; w++) {
          queue.put(new Stop());
        }
        for (Thread t : threads) {
          t.join();
        }
        out.force(true);
      }
      if (!failures.isEmpty()) {
        Throwable f = failures.get(0);
        throw f instanceof IOException io
            ? new IOException("cannot write " + o.out() + ": " + io.getMessage(), io)
            : new IOException("batch worker failed: " + f, f);
      }
    }
    if (progress != null) {
      draw(progress, true);
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    Summary s = new Summary(found, skipped.get(), processed.get(), errors.get(), secs, cancelled);
    if (progress != null) {
      progress.printf(
          Locale.ROOT,
          "%d items: %d done before (skipped), %d processed now (%d errors) in %.1f s%s%n",
          s.items(),
          s.skipped(),
          s.processed(),
          s.errors(),
          secs,
          cancelled ? " — cancelled; a rerun resumes" : "");
    }
    return s;
  }

  /** Queues a JSONL file's lines not done yet; returns how many lines it has. */
  private int tensors(String key, Path p, Set<String> done, BlockingQueue<Task> queue)
      throws IOException, InterruptedException {
    int lines = 0;
    try (BufferedReader r = Files.newBufferedReader(p, StandardCharsets.UTF_8)) {
      String line;
      while ((line = r.readLine()) != null && !cancelled) {
        if (line.isBlank()) {
          continue;
        }
        lines++;
        String k = key + "#line=" + lines;
        if (done.contains(k)) {
          skipped.incrementAndGet();
        } else {
          queue.put(new TensorTask(k, line));
        }
      }
    }
    return lines;
  }

  /**
   * Decodes a video with ffmpeg and queues its frames not done yet; when they are all written, the
   * video's own line (its frame count and size, or why it could not be read). Returns its lines:
   * the frames and its own.
   */
  private int video(String key, Path p, Set<String> done, BlockingQueue<Task> queue)
      throws IOException, InterruptedException {
    if (done.contains(key)) {
      int lines = doneLines(done, key);
      skipped.addAndGet(lines);
      return lines;
    }
    Map<String, Object> result = new LinkedHashMap<>();
    int frames = 0;
    String error = null;
    Video v = null;
    try {
      int[] size = probe(p);
      v = new Video(key, size[0], size[1]);
      double scale = Math.min(1.0, (double) MAX_SIDE / Math.max(size[0], size[1]));
      int w = even(size[0] * scale);
      int h = even(size[1] * scale);
      List<String> cmd =
          List.of(
              "ffmpeg",
              "-hide_banner",
              "-loglevel",
              "error",
              "-nostdin",
              "-i",
              p.toString(),
              "-an",
              "-vf",
              String.format(Locale.ROOT, "fps=%s,scale=%d:%d", o.fps(), w, h),
              "-pix_fmt",
              "rgb24",
              "-f",
              "rawvideo",
              "pipe:1");
      Process ff = new ProcessBuilder(cmd).start();
      StringBuilder err = new StringBuilder();
      Thread drain = drain(ff.getErrorStream(), err);
      try (InputStream s = ff.getInputStream()) {
        int bytes = w * h * 3;
        while (!cancelled) {
          byte[] rgb = s.readNBytes(bytes);
          if (rgb.length < bytes) {
            break;
          }
          String k = key + "#frame=" + frames;
          if (done.contains(k)) {
            skipped.incrementAndGet();
          } else {
            v.add();
            queue.put(new FrameTask(k, v, frames, new RgbImage(w, h, rgb)));
          }
          frames++;
        }
      } finally {
        if (cancelled) {
          ff.destroyForcibly();
        }
        ff.waitFor();
        drain.join(1000);
      }
      if (ff.exitValue() != 0 && !cancelled) {
        error = "ffmpeg could not decode it: " + lastLine(err) + " (exit " + ff.exitValue() + ")";
      }
    } catch (IOException e) {
      error = e.getMessage();
    }
    if (v != null) {
      v.awaitFrames();
    }
    if (cancelled) {
      return frames; // no closing line: a rerun decodes the rest
    }
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("input", key);
    line.put("task", "video");
    if (error != null) {
      errors.incrementAndGet();
      line.put("error", Map.of("code", "undecodable", "message", error, "framesDecoded", frames));
    } else {
      result.put("frames", frames);
      result.put("fps", o.fps());
      result.put("width", v.width);
      result.put("height", v.height);
      line.put("result", result);
    }
    write(bytes(line));
    processed.incrementAndGet();
    return frames + 1;
  }

  /** A finished video's lines in an earlier run's output: its frames and its own. */
  private static int doneLines(Set<String> done, String video) {
    String prefix = video + "#frame=";
    return 1 + (int) done.stream().filter(k -> k.startsWith(prefix)).count();
  }

  /** One worker: its own sessions (one engine thread each), no lock shared with the others. */
  private final class Worker {
    final ModelRepository repo;
    final Map<String, LoadedModel> open = new HashMap<>();
    final Map<String, InferenceException> broken = new HashMap<>();
    final OipCodec codec = new OipCodec(JSON);

    Worker(ModelRepository repo) {
      this.repo = repo;
    }

    void loop(BlockingQueue<Task> queue, PrintStream progress)
        throws IOException, InterruptedException {
      while (true) {
        Task t = queue.take();
        if (t instanceof Stop) {
          return;
        }
        try {
          if (!cancelled) {
            write(line(t));
            processed.incrementAndGet();
            if (progress != null) {
              draw(progress, false);
            }
          }
        } finally {
          if (t instanceof FrameTask f) {
            f.video().done();
          }
        }
      }
    }

    LoadedModel model(String name) {
      if (name == null || !MODEL_NAME.matcher(name).matches()) {
        throw new InferenceException(
            "model_not_found", "no model named " + (name == null ? "(none)" : "'" + name + "'"));
      }
      InferenceException e = broken.get(name);
      if (e != null) {
        throw e;
      }
      LoadedModel m = open.get(name);
      if (m == null) {
        try {
          m = repo.open(o.models().apply(name));
          if (!m.ready()) {
            throw new InferenceException(
                "model_not_ready", "model " + name + " is not ready: " + m.failure().message());
          }
        } catch (InferenceException x) {
          broken.put(name, x);
          throw x;
        }
        open.put(name, m);
      }
      return m;
    }

    /** One result line: the response the agent's endpoints return, or the error. */
    byte[] line(Task t) {
      Map<String, Object> m = new LinkedHashMap<>();
      try {
        if (t instanceof FileTask f && f.image()) {
          m.put("input", f.key());
          m.put("task", "faces");
          LoadedModel face = model(o.faceModel());
          RgbImage img = ImageDecoder.decode(Files.readAllBytes(f.file()));
          List<Face> faces = face.faceDetector().detect(img);
          m.put("result", TaskController.facesResponse(face, img.width(), img.height(), faces));
          annotate(f.key(), img, faces, true);
        } else if (t instanceof FileTask f) {
          m.put("input", f.key());
          m.put("task", "vad");
          m.put("result", TaskController.vad(model(o.vadModel()), Files.readAllBytes(f.file())));
        } else if (t instanceof FrameTask f) {
          m.put("input", f.key());
          m.put("task", "faces");
          m.put("t", Math.round(f.index() / o.fps() * 1000) / 1000.0);
          LoadedModel face = model(o.faceModel());
          List<Face> faces = face.faceDetector().detect(f.frame());
          float sx = (float) f.video().width / f.frame().width();
          float sy = (float) f.video().height / f.frame().height();
          m.put(
              "result",
              TaskController.facesResponse(
                  face,
                  f.video().width,
                  f.video().height,
                  faces.stream().map(x -> x.scaled(sx, sy)).toList()));
          annotate(f.key(), f.frame(), faces, false);
        } else if (t instanceof TensorTask x) {
          m.put("input", x.key());
          m.put("task", "infer");
          JsonNode req = parseLine(x.line());
          String name = req.path("model").asText(o.inferModel());
          m.put("model", name);
          m.put(
              "result",
              JSON.readTree(codec.infer(model(name), x.line().getBytes(StandardCharsets.UTF_8))));
        } else {
          throw new IllegalStateException("not work: " + t);
        }
      } catch (InferenceException e) {
        errors.incrementAndGet();
        m.remove("result");
        m.put("error", Map.of("code", e.code(), "message", String.valueOf(e.getMessage())));
      } catch (IOException | RuntimeException e) {
        errors.incrementAndGet();
        m.remove("result");
        m.put("error", Map.of("code", "unreadable", "message", e.toString()));
      }
      return bytes(m);
    }

    void annotate(String key, RgbImage img, List<Face> faces, boolean always) throws IOException {
      if (o.annotate() == null || (!always && faces.isEmpty())) {
        return;
      }
      String name = key.replace('/', '_').replace('#', '.').replace('=', '-');
      Snapshots.write(o.annotate(), name, img.width(), img.height(), img.pixels(), faces);
    }
  }

  private static JsonNode parseLine(String line) {
    try {
      JsonNode n = JSON.readTree(line);
      if (n == null || !n.isObject()) {
        throw new InferenceException("invalid_json", "the line is not a JSON object");
      }
      return n;
    } catch (IOException e) {
      throw new InferenceException("invalid_json", "the line is not valid JSON: " + e.getMessage());
    }
  }

  private void write(byte[] line) throws IOException {
    synchronized (this) {
      ch.write(ByteBuffer.wrap(line));
    }
  }

  private static byte[] bytes(Map<String, Object> m) {
    try {
      return (JSON.writeValueAsString(m) + "\n").getBytes(StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The video's width and height by ffprobe, or why it is not a video. */
  private static int[] probe(Path p) throws IOException, InterruptedException {
    Process pr =
        new ProcessBuilder(
                "ffprobe",
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=width,height",
                "-of",
                "csv=p=0",
                p.toString())
            .redirectErrorStream(true)
            .start();
    String outText = new String(pr.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (!pr.waitFor(30, TimeUnit.SECONDS)) {
      pr.destroyForcibly();
      throw new IOException("ffprobe did not answer in 30 s");
    }
    String[] wh = outText.split("\\R")[0].split(",");
    try {
      int w = Integer.parseInt(wh[0].trim());
      int h = Integer.parseInt(wh[1].trim());
      if (pr.exitValue() == 0 && w > 0 && h > 0) {
        return new int[] {w, h};
      }
    } catch (RuntimeException notNumbers) {
      // below
    }
    throw new IOException(
        "not a readable video: " + (outText.isEmpty() ? "no video stream" : lastLine(outText)));
  }

  /** Frames a video will give at the run's fps (its duration by ffprobe), for progress only. */
  private int estimateFrames(Path p) {
    try {
      Process pr =
          new ProcessBuilder(
                  "ffprobe",
                  "-v",
                  "error",
                  "-show_entries",
                  "format=duration",
                  "-of",
                  "csv=p=0",
                  p.toString())
              .redirectErrorStream(true)
              .start();
      String s = new String(pr.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      pr.waitFor(30, TimeUnit.SECONDS);
      return (int) Math.ceil(Double.parseDouble(s) * o.fps());
    } catch (IOException | RuntimeException | InterruptedException e) {
      return 1;
    }
  }

  private static int lineCount(Path p) {
    try (Stream<String> s = Files.lines(p)) {
      return (int) s.filter(l -> !l.isBlank()).count();
    } catch (IOException | java.io.UncheckedIOException e) {
      return 1;
    }
  }

  private static Thread drain(InputStream s, StringBuilder into) {
    Thread t =
        new Thread(
            () -> {
              try {
                String text = new String(s.readAllBytes(), StandardCharsets.UTF_8);
                synchronized (into) {
                  into.append(text);
                }
              } catch (IOException ignored) {
                // the process is gone
              }
            },
            "ffmpeg-stderr");
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static String lastLine(CharSequence text) {
    String s;
    synchronized (text) {
      s = text.toString().trim();
    }
    String[] lines = s.split("\\R");
    return lines.length == 0 || lines[lines.length - 1].isEmpty()
        ? "no error message"
        : lines[lines.length - 1];
  }

  private static int even(double v) {
    return Math.max(2, (int) Math.round(v / 2) * 2);
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
      try (FileChannel c = FileChannel.open(out, StandardOpenOption.WRITE)) {
        c.truncate(good);
      }
    }
    return done;
  }

  private void draw(PrintStream out, boolean end) {
    long now = System.nanoTime();
    long last = lastDraw.get();
    if (!end && (now - last < 200_000_000L || !lastDraw.compareAndSet(last, now))) {
      return;
    }
    Progress p = progress();
    int all = Math.max(1, p.total());
    int k = p.skipped() + p.processed();
    int width = 30;
    int filled = (int) Math.min(width, (long) width * k / all);
    synchronized (out) {
      out.printf(
          Locale.ROOT,
          "\r[%s%s] %d/%d  %.1f items/s  ETA %s%s",
          "#".repeat(filled),
          ".".repeat(width - filled),
          k,
          Math.max(k, p.total()),
          p.rate(),
          p.etaSeconds() < 0 ? "?" : String.format(Locale.ROOT, "%.0f s", p.etaSeconds()),
          end ? "\n" : "");
    }
  }

  /** A CSV of the results: input, task, faces or segments, error code. */
  static void csv(Path jsonl, Path csv) throws IOException {
    List<String> rows = new ArrayList<>();
    rows.add("input,task,t,count,error");
    for (String line : Files.readAllLines(jsonl)) {
      var n = JSON.readTree(line);
      JsonNode r = n.path("result");
      String count =
          r.has("faces")
              ? Integer.toString(r.path("faces").size())
              : r.has("segments")
                  ? Integer.toString(r.path("segments").size())
                  : r.has("outputs")
                      ? Integer.toString(r.path("outputs").size())
                      : r.has("frames") ? Integer.toString(r.path("frames").asInt()) : "";
      rows.add(
          String.join(
              ",",
              '"' + n.path("input").asText().replace("\"", "\"\"") + '"',
              n.path("task").asText(),
              n.has("t") ? n.path("t").asText() : "",
              n.has("error") ? "" : count,
              n.path("error").path("code").asText("")));
    }
    Files.write(csv, rows);
  }

  private static String kind(Path p) {
    String e = ext(p);
    if (IMAGES.contains(e)) {
      return "image";
    }
    if (e.equals("wav")) {
      return "wav";
    }
    if (VIDEOS.contains(e)) {
      return "video";
    }
    return e.equals("jsonl") ? "jsonl" : null;
  }

  private static String ext(Path p) {
    String n = p.getFileName().toString();
    int dot = n.lastIndexOf('.');
    return dot < 0 ? "" : n.substring(dot + 1).toLowerCase(Locale.ROOT);
  }
}
