package dev.massedge.agent.batch;

import dev.massedge.agent.AgentConfig;
import dev.massedge.agent.models.ModelRegistry;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.InvalidInputException;
import io.micronaut.context.annotation.Value;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Batch jobs on the agent ({@code POST /v1/batch}): {@link BatchRun}s over files under {@code
 * mass.batch.dir} (data/batch), one at a time in the order submitted so a queue of jobs never
 * oversubscribes the cores the pipelines also use. Each job writes its JSONL under the same folder
 * ({@code results/<id>.jsonl} unless it names its output; naming an earlier job's output resumes
 * it). Jobs live in memory: the last {@code mass.batch.keep} (100) are listed; their result files
 * stay on disk.
 */
@Singleton
public class BatchJobs implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BatchJobs.class);
  private final Path root;
  private final ModelRegistry models;
  private final AgentConfig config;
  private final int defaultWorkers;
  private final int keep;
  private final ExecutorService runner;
  private final AtomicLong ids = new AtomicLong();
  private final Map<String, Job> jobs = new LinkedHashMap<>();

  /** What a client asks for; paths are relative to the batch folder. */
  public record Request(
      String input,
      String output,
      Integer workers,
      Double fps,
      Boolean annotate,
      String faceModel,
      String vadModel,
      String model) {}

  public BatchJobs(
      ModelRegistry models,
      AgentConfig config,
      @Value("${mass.batch.dir:data/batch}") String dir,
      @Value("${mass.batch.workers:0}") int workers,
      @Value("${mass.batch.keep:100}") int keep) {
    this.models = models;
    this.config = config;
    this.root = Path.of(dir).toAbsolutePath().normalize();
    this.defaultWorkers = workers > 0 ? workers : Runtime.getRuntime().availableProcessors();
    this.keep = Math.max(1, keep);
    this.runner =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "batch-jobs");
              t.setDaemon(true);
              return t;
            });
  }

  /** One job: its request, where it stands, and its run while it runs. */
  public final class Job {
    final String id;
    final Request request;
    final Path input;
    final Path output;
    final Path annotate;
    final long created = System.currentTimeMillis();
    volatile String state = "queued";
    volatile long started;
    volatile long finished;
    volatile String error;
    volatile BatchRun run;
    volatile BatchRun.Summary summary;
    volatile boolean cancelRequested;

    Job(String id, Request request, Path input, Path output, Path annotate) {
      this.id = id;
      this.request = request;
      this.input = input;
      this.output = output;
      this.annotate = annotate;
    }

    public String id() {
      return id;
    }

    public Path output() {
      return output;
    }

    public String state() {
      return state;
    }

    /** The job as the API shows it. */
    public Map<String, Object> view() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", id);
      m.put("state", state);
      m.put("input", root.relativize(input).toString());
      m.put("output", root.relativize(output).toString());
      if (annotate != null) {
        m.put("annotated", root.relativize(annotate).toString());
      }
      m.put("createdAt", created);
      m.put("startedAt", started == 0 ? null : started);
      m.put("finishedAt", finished == 0 ? null : finished);
      BatchRun r = run;
      BatchRun.Summary s = summary;
      Map<String, Object> p = new LinkedHashMap<>();
      if (s != null) {
        p.put("items", s.items());
        p.put("skipped", s.skipped());
        p.put("processed", s.processed());
        p.put("errors", s.errors());
        p.put("seconds", Math.round(s.seconds() * 10) / 10.0);
        p.put("rate", s.seconds() > 0 ? Math.round(s.processed() / s.seconds() * 10) / 10.0 : 0);
      } else if (r != null) {
        BatchRun.Progress pr = r.progress();
        p.put("items", pr.total());
        p.put("skipped", pr.skipped());
        p.put("processed", pr.processed());
        p.put("errors", pr.errors());
        p.put("rate", Math.round(pr.rate() * 10) / 10.0);
        p.put("etaSeconds", pr.etaSeconds() < 0 ? null : Math.round(pr.etaSeconds()));
      }
      m.put("progress", p);
      m.put("error", error);
      return m;
    }
  }

  public synchronized Job submit(Request req) {
    if (req == null || req.input() == null || req.input().isBlank()) {
      throw new InvalidInputException(
          "invalid_request",
          "a batch job needs \"input\": a file or folder under the agent's batch folder " + root);
    }
    Path input = inside("input", req.input());
    if (!Files.exists(input)) {
      throw new InvalidInputException(
          "input_not_found", "\"input\": " + req.input() + " does not exist under " + root);
    }
    String id = Long.toString(System.currentTimeMillis(), 36) + "-" + ids.incrementAndGet();
    Path output =
        req.output() == null || req.output().isBlank()
            ? root.resolve("results").resolve(id + ".jsonl")
            : inside("output", req.output());
    if (!output.getFileName().toString().endsWith(".jsonl")) {
      throw new InvalidInputException(
          "invalid_path", "\"output\" must name a .jsonl file, got " + req.output());
    }
    for (Job j : jobs.values()) {
      if (j.output.equals(output) && (j.state.equals("queued") || j.state.equals("running"))) {
        throw new InvalidInputException(
            "output_in_use", "job " + j.id + " is writing " + req.output() + " already");
      }
    }
    Path annotate =
        Boolean.TRUE.equals(req.annotate()) ? root.resolve("annotated").resolve(id) : null;
    // check the numbers now, not when the job's turn comes
    options(req, input, output, annotate);
    Job job = new Job(id, req, input, output, annotate);
    jobs.put(id, job);
    while (jobs.size() > keep) {
      String oldest = null;
      for (Job j : jobs.values()) {
        if (!j.state.equals("queued") && !j.state.equals("running")) {
          oldest = j.id;
          break;
        }
      }
      if (oldest == null) {
        break;
      }
      jobs.remove(oldest);
    }
    runner.execute(() -> runJob(job));
    log.info("batch job {} queued: {} → {}", id, req.input(), root.relativize(output));
    return job;
  }

  private BatchRun.Options options(Request req, Path input, Path output, Path annotate) {
    try {
      return new BatchRun.Options(
          input,
          output,
          name -> models.require(name, null).dir(),
          req.faceModel() == null ? config.defaultFaceModel() : req.faceModel(),
          req.vadModel() == null ? config.defaultVadModel() : req.vadModel(),
          req.model(),
          req.workers() == null ? defaultWorkers : req.workers(),
          req.fps() == null ? 5 : req.fps(),
          annotate);
    } catch (IllegalArgumentException e) {
      throw new InvalidInputException("invalid_parameter", e.getMessage());
    }
  }

  private void runJob(Job job) {
    if (job.cancelRequested) {
      job.state = "cancelled";
      job.finished = System.currentTimeMillis();
      return;
    }
    job.state = "running";
    job.started = System.currentTimeMillis();
    try {
      Files.createDirectories(job.output.getParent());
      BatchRun run = new BatchRun(options(job.request, job.input, job.output, job.annotate));
      job.run = run;
      if (job.cancelRequested) {
        run.cancel();
      }
      BatchRun.Summary s = run.run(null);
      job.summary = s;
      job.state = s.cancelled() ? "cancelled" : "done";
      log.info(
          "batch job {} {}: {} items, {} skipped, {} processed, {} errors in {} s",
          job.id,
          job.state,
          s.items(),
          s.skipped(),
          s.processed(),
          s.errors(),
          String.format("%.1f", s.seconds()));
    } catch (IOException | RuntimeException e) {
      job.error = e instanceof InferenceException ie ? ie.getMessage() : e.toString();
      job.state = "failed";
      log.warn("batch job {} failed: {}", job.id, job.error);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      job.state = "cancelled";
    } finally {
      job.run = null;
      job.finished = System.currentTimeMillis();
    }
  }

  public synchronized List<Job> list() {
    return new ArrayList<>(jobs.values());
  }

  public synchronized Job get(String id) {
    Job j = jobs.get(id);
    if (j == null) {
      throw new InferenceException("job_not_found", "no batch job '" + id + "'");
    }
    return j;
  }

  /** Cancels a queued or running job (a running one stops between items); done ones stay done. */
  public Job cancel(String id) {
    Job j = get(id);
    j.cancelRequested = true;
    BatchRun r = j.run;
    if (r != null) {
      r.cancel();
    }
    return j;
  }

  /** A path under the batch folder, or a clear refusal: no absolute paths, no way out. */
  private Path inside(String field, String relative) {
    Path p = Path.of(relative);
    Path resolved = root.resolve(p).normalize();
    if (p.isAbsolute() || !resolved.startsWith(root)) {
      throw new InvalidInputException(
          "invalid_path",
          "\"" + field + "\" must be a path inside the agent's batch folder, got " + relative);
    }
    return resolved;
  }

  public Path root() {
    return root;
  }

  @PreDestroy
  @Override
  public void close() {
    for (Job j : list()) {
      BatchRun r = j.run;
      if (r != null) {
        r.cancel();
      }
    }
    runner.shutdownNow();
    try {
      runner.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
