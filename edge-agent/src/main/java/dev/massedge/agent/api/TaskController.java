package dev.massedge.agent.api;

import dev.massedge.agent.AgentConfig;
import dev.massedge.agent.models.ModelRegistry;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.audio.PcmAudio;
import dev.massedge.inference.audio.WavDecoder;
import dev.massedge.inference.face.Face;
import dev.massedge.inference.image.ImageDecoder;
import dev.massedge.inference.image.RgbImage;
import dev.massedge.inference.model.LoadedModel;
import dev.massedge.inference.vad.SpeechSegment;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.List;

/** Task endpoints: what a user wants from an image or a recording, in their own units. */
@Controller("/v1")
@ExecuteOn(TaskExecutors.BLOCKING)
public class TaskController {
  private final ModelRegistry models;
  private final AgentConfig config;

  public TaskController(ModelRegistry models, AgentConfig config) {
    this.models = models;
    this.config = config;
  }

  public record Box(float x, float y, float width, float height) {}

  public record FaceResult(Box box, float score, List<Face.Keypoint> keypoints) {}

  public record FacesResponse(
      String model, String version, int width, int height, List<FaceResult> faces) {}

  public record VadResponse(
      String model,
      String version,
      double durationMs,
      int sampleRate,
      List<SpeechSegment> segments) {}

  /** A JPEG or PNG body → the faces in it, in image pixels. */
  @Post(uri = "/faces", consumes = MediaType.ALL)
  public FacesResponse faces(
      @Body @Nullable byte[] body,
      @QueryValue @Nullable String model,
      @QueryValue @Nullable Float threshold) {
    LoadedModel m = models.require(model == null ? config.defaultFaceModel() : model, null);
    if (m.faceDetector() == null) {
      throw new InferenceException(
          "wrong_task", "model '" + m.name() + "' is a " + m.task() + " model, not face-detection");
    }
    if (threshold != null && (threshold <= 0 || threshold >= 1)) {
      throw new dev.massedge.inference.InvalidInputException(
          "invalid_parameter", "threshold must be in (0, 1), got " + threshold);
    }
    return models.timed(m, "faces", () -> faces(m, body, threshold));
  }

  /**
   * A JPEG or PNG → the faces in it, as {@code /v1/faces} answers (also what {@code ./mass batch}
   * writes); {@code threshold} null for the model's own.
   */
  public static FacesResponse faces(LoadedModel m, byte[] body, @Nullable Float threshold) {
    RgbImage img = ImageDecoder.decode(body);
    List<Face> faces =
        threshold == null ? m.faceDetector().detect(img) : m.faceDetector().detect(img, threshold);
    return facesResponse(m, img.width(), img.height(), faces);
  }

  /** The faces found in a {@code width}×{@code height} picture, as {@code /v1/faces} answers. */
  public static FacesResponse facesResponse(
      LoadedModel m, int width, int height, List<Face> faces) {
    return new FacesResponse(
        m.name(),
        m.version(),
        width,
        height,
        faces.stream()
            .map(
                f ->
                    new FaceResult(
                        new Box(f.x(), f.y(), f.width(), f.height()), f.score(), f.keypoints()))
            .toList());
  }

  /** A WAV → its speech segments, as {@code /v1/vad} answers (also what batch writes). */
  public static VadResponse vad(LoadedModel m, byte[] body) {
    PcmAudio audio = WavDecoder.decode(body);
    return new VadResponse(
        m.name(), m.version(), audio.durationMs(), audio.sampleRate(), m.vad().segments(audio));
  }

  /** A WAV body (PCM, any rate and channel count) → the speech segments in it, in ms. */
  @Post(uri = "/vad", consumes = MediaType.ALL)
  public VadResponse vad(@Body @Nullable byte[] body, @QueryValue @Nullable String model) {
    LoadedModel m = models.require(model == null ? config.defaultVadModel() : model, null);
    if (m.vad() == null) {
      throw new InferenceException(
          "wrong_task", "model '" + m.name() + "' is a " + m.task() + " model, not vad");
    }
    return models.timed(m, "vad", () -> vad(m, body));
  }
}
