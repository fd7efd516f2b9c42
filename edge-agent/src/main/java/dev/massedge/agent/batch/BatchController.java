package dev.massedge.agent.batch;

import dev.massedge.inference.InferenceException;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.server.types.files.SystemFile;
import java.net.URI;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

/**
 * Batch jobs over HTTP: {@code POST /v1/batch} queues one (202 and where to watch it), {@code GET
 * /v1/batch[/{id}]} says where they stand (progress, rate, ETA), {@code GET /v1/batch/{id}/results}
 * streams the JSONL written so far, {@code DELETE /v1/batch/{id}} cancels.
 */
@Controller("/v1/batch")
public class BatchController {
  private final BatchJobs jobs;

  public BatchController(BatchJobs jobs) {
    this.jobs = jobs;
  }

  @Post(consumes = MediaType.APPLICATION_JSON)
  public HttpResponse<Map<String, Object>> submit(@Body @Nullable BatchJobs.Request request) {
    BatchJobs.Job job = jobs.submit(request);
    return HttpResponse.<Map<String, Object>>accepted(URI.create("/v1/batch/" + job.id()))
        .body(job.view());
  }

  @Get
  public List<Map<String, Object>> list() {
    return jobs.list().stream().map(BatchJobs.Job::view).toList();
  }

  @Get("/{id}")
  public Map<String, Object> get(@PathVariable String id) {
    return jobs.get(id).view();
  }

  @Get(value = "/{id}/results", produces = "application/x-ndjson")
  public SystemFile results(@PathVariable String id) {
    BatchJobs.Job job = jobs.get(id);
    if (!Files.exists(job.output())) {
      throw new InferenceException(
          "job_not_done", "job " + id + " (" + job.state() + ") has written no results yet");
    }
    return new SystemFile(job.output().toFile(), MediaType.of("application/x-ndjson"));
  }

  @Delete("/{id}")
  public Map<String, Object> cancel(@PathVariable String id) {
    return jobs.cancel(id).view();
  }
}
