package dev.massedge.agent.bench;

import dev.massedge.agent.batch.BatchRun;
import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.Engines;
import dev.massedge.inference.image.ImageDecoder;
import dev.massedge.inference.model.LoadedModel;
import dev.massedge.inference.model.ModelRepository;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Batch throughput side by side in one run ({@code ./mass bench batch}): N copies of a 640×480 JPEG
 * with a face; the bare single stream (one thread, one session of one intra-op thread: decode +
 * detect, image after image) against {@code BatchRun} with 1 and with 2 workers (the cores here),
 * results written as JSONL.
 */
public final class BatchBench {
  private BatchBench() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 && args[0].equals("--quick") ? 200 : 800;
    Path models = Path.of(System.getProperty("mass.models.dir", "models"));
    Path media = Path.of(System.getProperty("mass.media.dir", "media"));
    Path work = Files.createTempDirectory("mass-batch-bench");
    Path jpg = work.resolve("face.jpg");
    Process p =
        new ProcessBuilder(
                "ffmpeg",
                "-loglevel",
                "error",
                "-y",
                "-i",
                media.resolve("astronaut.png").toString(),
                "-vf",
                "scale=480:480,pad=640:480:80:0",
                jpg.toString())
            .inheritIO()
            .start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException("ffmpeg failed");
    }
    Path dir = Files.createDirectories(work.resolve("in"));
    for (int i = 0; i < n; i++) {
      Files.copy(jpg, dir.resolve(String.format("f%05d.jpg", i)));
    }
    byte[] bytes = Files.readAllBytes(jpg);
    System.out.printf(Locale.ROOT, "== %d × 640×480 JPEG (one face), BlazeFace 128 ==%n", n);
    double bare;
    try (ModelRepository repo = new ModelRepository(new Engines(), EngineOptions.cpu(1))) {
      LoadedModel m = repo.open(models.resolve("face-blazeface-128"));
      for (int i = 0; i < 50; i++) {
        m.faceDetector().detect(ImageDecoder.decode(bytes));
      }
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        m.faceDetector()
            .detect(
                ImageDecoder.decode(
                    Files.readAllBytes(dir.resolve(String.format("f%05d.jpg", i)))));
      }
      bare = n / ((System.nanoTime() - t0) / 1e9);
      m.session().close();
    }
    System.out.printf(
        Locale.ROOT, "bare single stream (decode + detect, 1 thread)  %7.1f images/s%n", bare);
    PrintStream quiet = new PrintStream(java.io.OutputStream.nullOutputStream());
    for (int workers : new int[] {1, 2}) {
      Path out = work.resolve("out-" + workers + ".jsonl");
      BatchRun.Summary s =
          BatchRun.run(dir, out, models, "face-blazeface-128", "vad-silero", workers, quiet);
      double rate = s.processed() / s.seconds();
      System.out.printf(
          Locale.ROOT,
          "batch, %d worker(s), JSONL written             %7.1f images/s  (%.2fx the single stream; model loading included)%n",
          workers,
          rate,
          rate / bare);
    }
    System.exit(0);
  }
}
