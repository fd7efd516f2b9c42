package dev.massedge.inference.face;

import static org.assertj.core.api.Assertions.assertThat;

import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.Engines;
import dev.massedge.inference.TestAssets;
import dev.massedge.inference.image.ImageDecoder;
import dev.massedge.inference.image.RgbImage;
import dev.massedge.inference.image.Yuv420Image;
import dev.massedge.inference.model.LoadedModel;
import dev.massedge.inference.model.ModelRepository;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FaceDetectorTest {
  static ModelRepository repo;

  @BeforeAll
  static void load() {
    repo = new ModelRepository(new Engines(), EngineOptions.cpu(1));
    for (String dir :
        List.of("face-blazeface-128", "face-blazeface-256", "face-short-range-tflite")) {
      LoadedModel m = repo.load(TestAssets.model(dir));
      assertThat(m.ready()).as("%s: %s", dir, m.failure()).isTrue();
    }
  }

  @AfterAll
  static void close() {
    repo.close();
  }

  static FaceDetector detector(String name) {
    return repo.find(name, null).orElseThrow().faceDetector();
  }

  static RgbImage image(String file) {
    return ImageDecoder.decode(TestAssets.mediaBytes(file));
  }

  @ParameterizedTest
  @ValueSource(strings = {"face-short", "face-short-tflite", "face-long"})
  void astronautHasOneFaceWhereTheReferenceSaysWithKeypointsInside(String model) {
    List<Face> faces = detector(model).detect(image("astronaut.png"));

    assertThat(faces).hasSize(1);
    Face f = faces.get(0);
    assertThat(f.iou(179, 82, 93, 93)).as("IoU of %s", f).isGreaterThanOrEqualTo(0.7f);
    assertThat(f.score()).isGreaterThan(0.5f);
    assertThat(f.keypoints()).hasSize(6);
    // eyes, nose and mouth inside the box (ears may sit on its edge)
    for (Face.Keypoint k : f.keypoints().subList(0, 4)) {
      assertThat(k.x()).as(k.name()).isBetween(f.x(), f.x() + f.width());
      assertThat(k.y()).as(k.name()).isBetween(f.y(), f.y() + f.height());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"face-short", "face-short-tflite"})
  void cameraManHasOneFace(String model) {
    assertThat(detector(model).detect(image("camera.png"))).hasSize(1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"face-short", "face-short-tflite", "face-long"})
  void testPatternHasNoFace(String model, @TempDir Path tmp) throws Exception {
    RgbImage pattern = ImageDecoder.decode(Files.readAllBytes(TestAssets.testsrcPng(tmp)));
    assertThat(pattern.width()).isEqualTo(640);
    assertThat(detector(model).detect(pattern)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"face-short", "face-short-tflite"})
  void boxesAreInSourcePixelsForNonSquareFrames(String model, @TempDir Path tmp) throws Exception {
    Path frame = wideAstronaut(tmp.resolve("wide.png"));
    List<Face> faces = detector(model).detect(ImageDecoder.decode(Files.readAllBytes(frame)));
    assertThat(faces).hasSize(1);
    assertWhereTheWideAstronautsFaceIs(faces.get(0));
  }

  /** The astronaut padded into a 640x480 frame: face shifted by (64, 0) after a 0.9375 scale. */
  static Path wideAstronaut(Path out, String... outputOptions) {
    List<String> args =
        new java.util.ArrayList<>(
            List.of(
                "-i",
                TestAssets.media("astronaut.png").toString(),
                "-vf",
                "scale=480:480,pad=640:480:64:0:black"));
    args.addAll(List.of(outputOptions));
    return TestAssets.ffmpeg(out, args.toArray(String[]::new));
  }

  static void assertWhereTheWideAstronautsFaceIs(Face f) {
    float s = 480f / 512f;
    assertThat(f.iou(64 + 179 * s, 82 * s, 93 * s, 93 * s))
        .as("IoU of %s", f)
        .isGreaterThanOrEqualTo(0.7f);
  }

  @ParameterizedTest
  @ValueSource(strings = {"face-short", "face-long"})
  void aCameraFrameInI420HasTheFaceItsRgbHas(String model, @TempDir Path tmp) throws Exception {
    // what a camera process delivers: the decoder's planar YUV 4:2:0, read without conversion
    Path frame = wideAstronaut(tmp.resolve("wide.yuv"), "-pix_fmt", "yuv420p", "-f", "rawvideo");
    Yuv420Image yuv = new Yuv420Image(640, 480, Files.readAllBytes(frame));
    List<Face> fromYuv = detector(model).detect(yuv);
    List<Face> fromRgb = detector(model).detect(yuv.toRgb());
    assertThat(fromYuv).hasSize(1);
    assertThat(fromRgb).hasSize(1);
    Face a = fromYuv.get(0);
    Face b = fromRgb.get(0);
    assertWhereTheWideAstronautsFaceIs(a);
    assertThat(a.iou(b)).isGreaterThanOrEqualTo(0.9f);
    assertThat(a.score()).isCloseTo(b.score(), org.assertj.core.data.Offset.offset(0.05f));
  }
}
