package dev.massedge.agent.pipeline;

import io.micronaut.context.annotation.EachProperty;
import io.micronaut.context.annotation.Parameter;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;
import java.util.List;

/**
 * One pipeline, {@code mass.pipelines.<name>.*}. A camera's {@code width}×{@code height} is the
 * picture the world sees (boxes are in its pixels); {@code detect-width}×{@code detect-height}
 * (default: the same) is the size the camera process delivers for analysis, as Frigate separates
 * detect from record resolution: smaller frames cost less to move and to letterbox. Camera
 * pipelines: {@code kind: camera}, a source ({@code ffmpeg}, {@code gstreamer}, {@code
 * image-folder}) with {@code input}, size and fps, a face model and tracker settings. Voice
 * pipelines: {@code kind: voice}, a source ({@code wav}, {@code ffmpeg}, {@code java-sound}) and a
 * VAD model.
 */
@EachProperty("mass.pipelines")
public record PipelineConfig(
    @Parameter String name,
    @Bindable(defaultValue = "camera") String kind,
    @Bindable(defaultValue = "ffmpeg") String source,
    @Nullable String input,
    @Nullable List<String> inputOptions,
    @Bindable(defaultValue = "640") int width,
    @Bindable(defaultValue = "480") int height,
    @Bindable(defaultValue = "10") double fps,
    @Nullable Integer detectWidth,
    @Nullable Integer detectHeight,
    @Nullable String model,
    @Bindable(defaultValue = "3") int minHits,
    @Bindable(defaultValue = "1.0") double leaveAfterSeconds,
    @Bindable(defaultValue = "true") boolean enabled,
    @Nullable String wakeWordDir,
    @Nullable List<String> wakeWords,
    @Bindable(defaultValue = "0.3") float wakeThreshold,
    @Bindable(defaultValue = "embedding_model.onnx") String wakeWordEmbedding,
    @Nullable Integer gatePin,
    @Nullable String gateSensor,
    @Bindable(defaultValue = "false") boolean gateMotion,
    @Bindable(defaultValue = "12") int motionThreshold,
    @Bindable(defaultValue = "0.005") double motionArea,
    @Bindable(defaultValue = "5") double gateHoldSeconds,
    @Nullable Integer ledPin,
    @Nullable Integer buttonPin,
    @Nullable String snapshotDir,
    @Nullable String utteranceDir,
    @Bindable(defaultValue = "0") int threads,
    @Nullable String sessionFrom,
    @Bindable(defaultValue = "3") double sessionGraceSeconds,
    @Nullable String snapshotOn) {}
