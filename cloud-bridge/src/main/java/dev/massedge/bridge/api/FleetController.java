package dev.massedge.bridge.api;

import dev.massedge.bridge.Json;
import dev.massedge.bridge.catalog.ChunkService;
import dev.massedge.bridge.catalog.FleetKey;
import dev.massedge.bridge.catalog.ModelCatalog;
import dev.massedge.bridge.fleet.DeviceInference;
import dev.massedge.bridge.fleet.DeviceRegistry;
import dev.massedge.bridge.fleet.Twins;
import dev.massedge.bridge.mqtt.BridgeLink;
import dev.massedge.bridge.rollout.RolloutEngine;
import dev.massedge.bridge.telemetry.TelemetryIngest;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Put;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.multipart.CompletedFileUpload;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The fleet manager's REST API, version 1 (token required: see {@link AuthFilter}). */
@Controller("/api/v1")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class FleetController {
  private final DeviceRegistry registry;
  private final Twins twins;
  private final ModelCatalog catalog;
  private final RolloutEngine rollouts;
  private final TelemetryIngest telemetry;
  private final FleetKey key;
  private final BridgeLink link;
  private final ChunkService chunks;

  private final DeviceInference inference;

  public FleetController(
      DeviceRegistry registry,
      Twins twins,
      ModelCatalog catalog,
      RolloutEngine rollouts,
      TelemetryIngest telemetry,
      FleetKey key,
      BridgeLink link,
      ChunkService chunks,
      DeviceInference inference) {
    this.inference = inference;
    this.registry = registry;
    this.twins = twins;
    this.catalog = catalog;
    this.rollouts = rollouts;
    this.telemetry = telemetry;
    this.key = key;
    this.link = link;
    this.chunks = chunks;
  }

  /** Counts for the dashboard's header, the broker link and the ingest counters. */
  @Get("/overview")
  public Map<String, Object> overview() {
    long[] devices = registry.counts();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("devices", devices[0]);
    m.put("online", devices[1]);
    m.put("models", catalog.count());
    m.put("activeRollouts", rollouts.activeCount());
    m.put("broker", link.url());
    m.put("brokerConnected", link.link().connected());
    m.put("telemetry", telemetry.stats());
    m.put("messagesRefused", registry.rejected());
    m.put("chunkBytesServed", chunks.bytesServed());
    m.put("fleetKeyId", key.keyId());
    return m;
  }

  /** The caller's role, for the dashboard to show or hide what a viewer cannot do. */
  @Get("/whoami")
  public Map<String, Object> whoami(HttpRequest<?> request) {
    Auth.Caller c = request.getAttribute(AuthFilter.CALLER, Auth.Caller.class).orElseThrow();
    return Map.of("role", c.role().name().toLowerCase(java.util.Locale.ROOT), "name", c.name());
  }

  @Get("/devices")
  public List<Map<String, Object>> devices(@Nullable @QueryValue String tag) {
    return registry.list(tag);
  }

  /**
   * A device, with its telemetry accounting ({@code telemetry}: see TelemetryIngest#accounting).
   */
  @Get("/devices/{id}")
  public Map<String, Object> device(String id) {
    Map<String, Object> d = new LinkedHashMap<>(registry.get(id));
    d.put("telemetry", telemetry.accounting(id));
    return d;
  }

  /** Replaces a device's tags: {@code {"tags": ["camera", "site=lobby"]}}. */
  @Put("/devices/{id}/tags")
  public Map<String, Object> tags(String id, @Body Map<String, List<String>> body) {
    List<String> t = body.get("tags");
    if (t == null) {
      throw new IllegalArgumentException("send {\"tags\": [...]}");
    }
    registry.setTags(id, new LinkedHashSet<>(t));
    return registry.get(id);
  }

  /**
   * Merges configuration into a device's desired twin: {@code {"pipelines.door.enabled": false}}.
   */
  @Put("/devices/{id}/config")
  public Map<String, Object> config(String id, @Body Map<String, Object> changes) {
    twins.setConfig(id, changes);
    return registry.get(id);
  }

  /**
   * Runs a device's model over MQTT: the body is an Open Inference Protocol JSON request, the
   * answer the device's response (200), or its error with a fitting status (404 unknown model, 400
   * invalid request, 413 too large, 503 offline or busy, 504 no answer within {@code timeout}
   * seconds, 10 by default). The binary tensor extension passes through both ways: a request with
   * {@code Inference-Header-Content-Length} carries tensor bytes after its JSON, and outputs asked
   * for as {@code binary_data} come back as {@code application/octet-stream} with the same header.
   */
  @Post(
      value = "/devices/{id}/infer/{model}",
      consumes = MediaType.ALL,
      produces = {MediaType.APPLICATION_JSON, MediaType.APPLICATION_OCTET_STREAM})
  public HttpResponse<byte[]> infer(
      String id,
      String model,
      @Body @Nullable byte[] body,
      @Nullable @QueryValue Integer timeout,
      @Nullable @io.micronaut.http.annotation.Header("Inference-Header-Content-Length")
          String headerLength)
      throws InterruptedException {
    int length = -1;
    if (headerLength != null) {
      try {
        length = Integer.parseInt(headerLength.trim());
      } catch (NumberFormatException e) {
        length = -2;
      }
      if (length < 0 || body == null || length > body.length) {
        return HttpResponse.<byte[]>status(io.micronaut.http.HttpStatus.BAD_REQUEST)
            .body(
                Json.write(
                        Map.of(
                            "code",
                            "request_invalid",
                            "message",
                            "Inference-Header-Content-Length must be a length within the body,"
                                + " got "
                                + headerLength))
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8))
            .contentType(MediaType.APPLICATION_JSON_TYPE);
      }
    }
    DeviceInference.Answer a =
        inference.call(
            id,
            model,
            body,
            length,
            java.time.Duration.ofSeconds(
                timeout == null ? 10 : Math.max(1, Math.min(timeout, 120))));
    io.micronaut.http.MutableHttpResponse<byte[]> r =
        HttpResponse.<byte[]>status(io.micronaut.http.HttpStatus.valueOf(a.httpStatus()))
            .body(a.body());
    if (a.jsonLength() >= 0) {
      return r.contentType(MediaType.APPLICATION_OCTET_STREAM_TYPE)
          .header("Inference-Header-Content-Length", Integer.toString(a.jsonLength()));
    }
    return r.contentType(MediaType.APPLICATION_JSON_TYPE);
  }

  @Get("/devices/{id}/events")
  public List<Map<String, Object>> events(
      String id, @Nullable @QueryValue Long since, @Nullable @QueryValue Integer limit) {
    return telemetry.events(id, since == null ? 0 : since, limit == null ? 100 : limit);
  }

  @Get("/telemetry")
  public List<Map<String, Object>> telemetry(
      @Nullable @QueryValue String device,
      @Nullable @QueryValue String model,
      @Nullable @QueryValue String version,
      @Nullable @QueryValue String name,
      @Nullable @QueryValue Long since,
      @Nullable @QueryValue Integer limit) {
    return telemetry.query(
        device, model, version, name, since == null ? 0 : since, limit == null ? 1000 : limit);
  }

  @Get("/models")
  public List<Map<String, Object>> models(@Nullable @QueryValue String name) {
    return catalog.list(name);
  }

  @Get("/models/{name}/{version}")
  public Map<String, Object> model(String name, String version) {
    return catalog.get(name, version);
  }

  /** Adds a model directory packed as a zip (body {@code application/zip}). */
  @Post(value = "/models", consumes = "application/zip")
  public HttpResponse<Map<String, Object>> pushZip(
      HttpRequest<?> request, @Body byte[] zip, @Nullable @QueryValue String notes)
      throws IOException {
    return HttpResponse.created(
        catalog.pushZip(new ByteArrayInputStream(zip), notes, AuthFilter.caller(request)));
  }

  /** Adds a bare model: multipart parts {@code descriptor} (model.json) and {@code model}. */
  @Post(value = "/models", consumes = MediaType.MULTIPART_FORM_DATA)
  public HttpResponse<Map<String, Object>> push(
      HttpRequest<?> request,
      CompletedFileUpload descriptor,
      CompletedFileUpload model,
      @Nullable String notes)
      throws IOException {
    return HttpResponse.created(
        catalog.push(descriptor.getBytes(), model.getBytes(), notes, AuthFilter.caller(request)));
  }

  /** The public key devices trust ({@code mass.sync.trusted-keys}). */
  @Get("/fleet-key")
  public Map<String, String> fleetKey() {
    return Map.of("keyId", key.keyId(), "publicKey", key.publicKey());
  }

  /** A new rollout's request. Phases are cumulative percentages ending at 100. */
  public record RolloutRequest(
      String model,
      String version,
      @Nullable List<String> tags,
      @Nullable List<Integer> phases,
      @Nullable dev.massedge.bridge.rollout.Gates gates) {}

  @Post("/rollouts")
  public HttpResponse<Map<String, Object>> start(HttpRequest<?> request, @Body RolloutRequest r) {
    if (r.model() == null || r.version() == null) {
      throw new IllegalArgumentException("a rollout needs model and version");
    }
    Set<String> selector = r.tags() == null ? Set.of() : new LinkedHashSet<>(r.tags());
    long id =
        rollouts.start(
            r.model(),
            r.version(),
            selector,
            r.phases() == null ? List.of(1, 10, 50, 100) : r.phases(),
            r.gates() == null ? dev.massedge.bridge.rollout.Gates.DEFAULTS : r.gates(),
            AuthFilter.caller(request));
    return HttpResponse.created(rollouts.status(id));
  }

  @Get("/rollouts")
  public List<Map<String, Object>> rollouts() {
    return rollouts.list();
  }

  @Get("/rollouts/{id}")
  public Map<String, Object> rollout(long id) {
    return rollouts.status(id);
  }

  @Post("/rollouts/{id}/pause")
  public Map<String, Object> pause(long id) {
    rollouts.pause(id);
    return rollouts.status(id);
  }

  @Post("/rollouts/{id}/resume")
  public Map<String, Object> resume(long id) {
    rollouts.resume(id);
    return rollouts.status(id);
  }

  @Post("/rollouts/{id}/abort")
  public Map<String, Object> abort(long id) {
    rollouts.abort(id);
    return rollouts.status(id);
  }
}
