package dev.massedge.agent.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.agent.models.ModelRegistry;
import dev.massedge.inference.Tensor;
import dev.massedge.inference.TensorSpec;
import dev.massedge.inference.model.LoadedModel;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Header;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The Open Inference Protocol (KServe v2) over HTTP/REST. */
@Controller("/v2")
@ExecuteOn(TaskExecutors.BLOCKING)
public class InferenceProtocolController {
  static final String VERSION = "0.1.0";
  private final ModelRegistry models;
  private final OipCodec codec;

  public InferenceProtocolController(ModelRegistry models, ObjectMapper mapper) {
    this.models = models;
    this.codec = new OipCodec(mapper);
  }

  public record ServerMetadata(String name, String version, List<String> extensions) {}

  public record TensorMetadata(String name, String datatype, long[] shape) {}

  public record ModelMetadata(
      String name,
      List<String> versions,
      String platform,
      List<TensorMetadata> inputs,
      List<TensorMetadata> outputs,
      Map<String, Object> parameters) {}

  @Get
  public ServerMetadata server() {
    return new ServerMetadata("mass-edge-agent", VERSION, List.of("model_repository_status"));
  }

  @Get("/health/live")
  public Map<String, Boolean> live() {
    return Map.of("live", true);
  }

  /** Ready when at least one model serves; the body lists the models that do not. */
  @Get("/health/ready")
  public HttpResponse<Map<String, Object>> ready() {
    List<LoadedModel> all = models.all();
    boolean ready = all.stream().anyMatch(LoadedModel::ready);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("ready", ready);
    Map<String, String> notReady = new LinkedHashMap<>();
    all.stream()
        .filter(m -> !m.ready())
        .forEach(m -> notReady.put(m.name() + "@" + m.version(), m.failure().message()));
    body.put("models_not_ready", notReady);
    return HttpResponse.status(ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE).body(body);
  }

  /** Every model with its state: this agent's take on the repository-index extension. */
  @Post("/repository/index")
  public List<Map<String, Object>> index() {
    return models.all().stream()
        .map(
            m -> {
              Map<String, Object> e = new LinkedHashMap<>();
              e.put("name", m.name());
              e.put("version", m.version());
              e.put("state", m.ready() ? "READY" : "UNAVAILABLE");
              e.put("reason", m.ready() ? "" : m.failure().message());
              return e;
            })
        .toList();
  }

  @Get("/models/{name}")
  public ModelMetadata model(String name) {
    return metadata(models.find(name, null));
  }

  @Get("/models/{name}/versions/{version}")
  public ModelMetadata modelVersion(String name, String version) {
    return metadata(models.find(name, version));
  }

  @Get("/models/{name}/ready")
  public HttpResponse<Map<String, Object>> modelReady(String name) {
    return readiness(models.find(name, null));
  }

  @Get("/models/{name}/versions/{version}/ready")
  public HttpResponse<Map<String, Object>> modelVersionReady(String name, String version) {
    return readiness(models.find(name, version));
  }

  @Post(
      uri = "/models/{name}/infer",
      consumes = MediaType.ALL,
      produces = MediaType.APPLICATION_JSON)
  public HttpResponse<byte[]> infer(
      String name,
      @Body @Nullable byte[] body,
      @Header(HEADER_LENGTH) @Nullable Integer headerLength) {
    return infer(models.require(name, null), body, headerLength);
  }

  @Post(
      uri = "/models/{name}/versions/{version}/infer",
      consumes = MediaType.ALL,
      produces = MediaType.APPLICATION_JSON)
  public HttpResponse<byte[]> inferVersion(
      String name,
      String version,
      @Body @Nullable byte[] body,
      @Header(HEADER_LENGTH) @Nullable Integer headerLength) {
    return infer(models.require(name, version), body, headerLength);
  }

  /** The binary tensor extension's header: the length of the JSON before the binary data. */
  static final String HEADER_LENGTH = "Inference-Header-Content-Length";

  private HttpResponse<byte[]> infer(LoadedModel m, byte[] body, Integer headerLength) {
    OipCodec.Body out = run(models, codec, m, body, headerLength == null ? -1 : headerLength);
    if (out.binary()) {
      return HttpResponse.ok(out.bytes())
          .contentType(MediaType.APPLICATION_OCTET_STREAM_TYPE)
          .header(HEADER_LENGTH, Integer.toString(out.jsonLength()));
    }
    return HttpResponse.ok(out.bytes()).contentType(MediaType.APPLICATION_JSON_TYPE);
  }

  /**
   * One inference as every transport runs it: parse, run (timed into the model's stats), encode.
   */
  static OipCodec.Body run(
      ModelRegistry models, OipCodec codec, LoadedModel m, byte[] body, int headerLength) {
    return models.timed(
        m,
        "infer",
        () -> {
          OipCodec.Request req = codec.parse(body, headerLength);
          Map<String, Tensor> result = m.session().run(req.inputs());
          return codec.response(m.name(), m.version(), req, result);
        });
  }

  private static HttpResponse<Map<String, Object>> readiness(LoadedModel m) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("name", m.name());
    body.put("version", m.version());
    body.put("ready", m.ready());
    if (!m.ready()) {
      body.put("code", m.failure().code());
      body.put("error", m.failure().message());
    }
    return HttpResponse.status(m.ready() ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE)
        .body(body);
  }

  private ModelMetadata metadata(LoadedModel m) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("task", m.task());
    p.put("ready", m.ready());
    List<TensorMetadata> in = List.of();
    List<TensorMetadata> out = List.of();
    String platform = "unknown";
    if (m.descriptor() != null) {
      platform = m.descriptor().engine().equals("tflite") ? "tensorflow_lite" : "onnxruntime_onnx";
      p.put("engine", m.descriptor().engine());
      if (m.descriptor().description() != null) {
        p.put("description", m.descriptor().description());
      }
    }
    if (m.ready()) {
      in = m.session().inputs().stream().map(InferenceProtocolController::meta).toList();
      out = m.session().outputs().stream().map(InferenceProtocolController::meta).toList();
      p.put("execution_provider", m.session().executionProvider());
      p.put("skipped_providers", m.session().skippedProviders());
    } else {
      p.put("code", m.failure().code());
      p.put("error", m.failure().message());
    }
    List<String> versions =
        models.all().stream()
            .filter(x -> x.name().equals(m.name()))
            .map(LoadedModel::version)
            .toList();
    return new ModelMetadata(m.name(), versions, platform, in, out, p);
  }

  private static TensorMetadata meta(TensorSpec s) {
    return new TensorMetadata(s.name(), s.type().name(), s.shape());
  }
}
