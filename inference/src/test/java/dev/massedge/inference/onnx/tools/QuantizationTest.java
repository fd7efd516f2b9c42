package dev.massedge.inference.onnx.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.Engines;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.TestAssets;
import dev.massedge.inference.face.Face;
import dev.massedge.inference.image.ImageDecoder;
import dev.massedge.inference.model.LoadedModel;
import dev.massedge.inference.model.ModelRepository;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** int8 and fp16 variants of the real models, checked against their float originals. */
class QuantizationTest {
  /** BlazeFace 256's last stage (the 8×8 blocks) kept float: see docs/quantization.md. */
  static final QuantizationOptions FACE_LONG_MIXED =
      new QuantizationOptions(
          QuantizationOptions.ActivationType.UINT8,
          QuantizationOptions.Calibration.PERCENTILE,
          99.99,
          true,
          ".*(conv2d_2[4-9]|conv2d_3[0-9]|depthwise_conv2d_2[3-9]|depthwise_conv2d_3[0-9]|add_2[3-9]|add_3[0-9]|re_lu_2[3-9]|re_lu_3[0-9]).*");

  @TempDir static Path work;
  static Path calibration;
  static Path eval;
  static Path wavs;

  @BeforeAll
  static void media() {
    calibration = TestAssets.calibrationImages(work.resolve("calibration"));
    eval = TestAssets.evaluationImages(work.resolve("eval"));
    wavs = TestAssets.recordings(work.resolve("wavs"));
  }

  @Test
  void blazeFace128BecomesInt8AndKeepsItsFaces() throws Exception {
    Path out = work.resolve("face-short-int8");
    ModelConverter.Outcome o =
        ModelConverter.quantize(
            TestAssets.model("face-blazeface-128"),
            calibration,
            eval,
            out,
            QuantizationOptions.DEFAULTS,
            AccuracyBounds.DEFAULTS);

    assertThat(o.inspection().precision()).isEqualTo("int8 (QDQ)");
    assertThat(o.quantization().quantizedNodes()).containsEntry("Conv", 33);
    assertThat(o.quantization().quantizedBytes()).isLessThan(o.quantization().floatBytes());
    AccuracyReport.FaceAgreement f = o.accuracy().faces();
    assertThat(f.referenceFaces()).isEqualTo(2); // astronaut, camera
    assertThat(f.matched()).isEqualTo(2);
    assertThat(f.minIou()).isGreaterThanOrEqualTo(0.8);
    assertThat(f.maxScoreDelta()).isLessThanOrEqualTo(0.1);
    assertThat(f.newFaces()).isZero(); // nothing new on testsrc or the mandelbrot

    // ONNX Runtime really runs quantized kernels: its optimised graph, not the file name, says so
    Map<String, Integer> ops = ModelConverter.optimizedOps(out.resolve("model.onnx"));
    assertThat(ops.getOrDefault("QLinearConv", 0)).isGreaterThanOrEqualTo(30);
    assertThat(ops).containsKey("com.microsoft.QLinearAdd");

    // and the published directory is a model the agent can load and serve
    try (var repo = new ModelRepository(new Engines(), EngineOptions.cpu(1))) {
      LoadedModel m = repo.load(out);
      assertThat(m.ready()).as("%s", m.failure()).isTrue();
      assertThat(m.name()).isEqualTo("face-short-int8");
      List<Face> faces =
          m.faceDetector().detect(ImageDecoder.decode(TestAssets.mediaBytes("astronaut.png")));
      assertThat(faces).hasSize(1);
      assertThat(faces.get(0).iou(179, 82, 93, 93)).isGreaterThanOrEqualTo(0.7f);
    }
  }

  @Test
  void blazeFace256NeedsItsLastStageFloatAndTheGateSaysSo() {
    Path out = work.resolve("face-long-int8");
    assertThatThrownBy(
            () ->
                ModelConverter.quantize(
                    TestAssets.model("face-blazeface-256"),
                    calibration,
                    eval,
                    out,
                    QuantizationOptions.DEFAULTS,
                    AccuracyBounds.DEFAULTS))
        .isInstanceOf(InferenceException.class)
        .hasMessageContaining("refused")
        .extracting(e -> ((InferenceException) e).code())
        .isEqualTo("accuracy_bound");
    assertThat(out).doesNotExist();

    QuantizationOptions mixed = FACE_LONG_MIXED;
    ModelConverter.Outcome o =
        ModelConverter.quantize(
            TestAssets.model("face-blazeface-256"),
            calibration,
            eval,
            out,
            mixed,
            AccuracyBounds.DEFAULTS);
    assertThat(o.accuracy().faces().newFaces()).isZero();
    assertThat(o.accuracy().faces().minIou()).isGreaterThanOrEqualTo(0.8);
    assertThat(o.accuracy().faces().maxScoreDelta()).isLessThanOrEqualTo(0.1);
    assertThat(
            ModelConverter.optimizedOps(out.resolve("model.onnx")).getOrDefault("QLinearConv", 0))
        .isGreaterThanOrEqualTo(40);
  }

  @Test
  void sileroVadQuantizesWhatItCanAndKeepsItsSegments() {
    Path out = work.resolve("vad-int8");
    ModelConverter.Outcome o =
        ModelConverter.quantize(
            TestAssets.model("vad-silero"),
            wavs,
            null,
            out,
            QuantizationOptions.DEFAULTS,
            AccuracyBounds.DEFAULTS);
    AccuracyReport.SegmentAgreement s = o.accuracy().segments();
    assertThat(s.referenceSegments()).isGreaterThanOrEqualTo(3);
    assertThat(s.matched()).isEqualTo(s.referenceSegments());
    assertThat(s.extra()).isZero();
    assertThat(s.maxBoundaryDeltaMs()).isLessThanOrEqualTo(100);
    // the recurrent decoder sits in If subgraphs: reported, left float
    assertThat(o.quantization().floatNodes()).anyMatch(n -> n.startsWith("If "));
    assertThat(ModelConverter.optimizedOps(out.resolve("model.onnx"))).containsKey("QLinearConv");
  }

  @Test
  void fp16VariantKeepsTheFaces() {
    Path out = work.resolve("face-short-fp16");
    ModelConverter.Outcome o =
        ModelConverter.fp16(
            TestAssets.model("face-blazeface-128"), eval, out, AccuracyBounds.DEFAULTS);
    assertThat(o.inspection().precision()).isEqualTo("fp16");
    assertThat(o.inspection().initializerTypes()).doesNotContainKey("FLOAT");
    assertThat(o.accuracy().faces().matched()).isEqualTo(2);
    assertThat(o.accuracy().faces().minIou()).isGreaterThan(0.99);
    assertThatThrownBy(
            () ->
                ModelConverter.fp16(
                    TestAssets.model("vad-silero"),
                    null,
                    work.resolve("x"),
                    AccuracyBounds.DEFAULTS))
        .hasMessageContaining("If")
        .extracting(e -> ((InferenceException) e).code())
        .isEqualTo("unsupported_model");
  }

  @Test
  void badInputsGiveClearErrors() throws Exception {
    Path empty = Files.createDirectories(work.resolve("empty"));
    assertThatThrownBy(
            () ->
                ModelConverter.quantize(
                    TestAssets.model("face-blazeface-128"),
                    empty,
                    null,
                    work.resolve("o1"),
                    QuantizationOptions.DEFAULTS,
                    AccuracyBounds.DEFAULTS))
        .hasMessageContaining("calibration set is empty")
        .extracting(e -> ((InferenceException) e).code())
        .isEqualTo("calibration_empty");

    Path old = Files.createDirectories(work.resolve("old-opset"));
    var m =
        dev.massedge.inference.onnx.model.OnnxModel.read(
            TestAssets.model("face-blazeface-128").resolve("model.onnx"));
    m.setDefaultOpset(9);
    m.write(old.resolve("model.onnx"));
    Files.copy(
        TestAssets.model("face-blazeface-128").resolve("model.json"), old.resolve("model.json"));
    assertThatThrownBy(
            () ->
                ModelConverter.quantize(
                    old,
                    calibration,
                    null,
                    work.resolve("o2"),
                    QuantizationOptions.DEFAULTS,
                    AccuracyBounds.DEFAULTS))
        .hasMessageContaining("opset 9")
        .extracting(e -> ((InferenceException) e).code())
        .isEqualTo("unsupported_opset");

    Path corrupt = Files.createDirectories(work.resolve("corrupt"));
    Files.write(corrupt.resolve("model.onnx"), new byte[] {0x0a, 0x7f, 0x01, 0x02});
    Files.copy(
        TestAssets.model("face-blazeface-128").resolve("model.json"),
        corrupt.resolve("model.json"));
    assertThatThrownBy(
            () ->
                ModelConverter.quantize(
                    corrupt,
                    calibration,
                    null,
                    work.resolve("o3"),
                    QuantizationOptions.DEFAULTS,
                    AccuracyBounds.DEFAULTS))
        .hasMessageContaining("truncated")
        .extracting(e -> ((InferenceException) e).code())
        .isEqualTo("onnx_invalid");

    assertThatThrownBy(
            () ->
                ModelConverter.quantize(
                    TestAssets.model("face-short-range-tflite"),
                    calibration,
                    null,
                    work.resolve("o4"),
                    QuantizationOptions.DEFAULTS,
                    AccuracyBounds.DEFAULTS))
        .extracting(e -> ((InferenceException) e).code())
        .isEqualTo("unsupported_model");
  }

  @Test
  void theCliSaysWhatItDidAndRefusesWithExitCode3() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc =
        ModelTool.run(
            new String[] {
              "inspect", TestAssets.model("face-blazeface-128").resolve("model.onnx").toString()
            },
            new PrintStream(out),
            new PrintStream(err));
    assertThat(rc).isZero();
    assertThat(out.toString()).contains("precision   fp32").contains("Conv=37").contains("{=12}");

    rc =
        ModelTool.run(
            new String[] {
              "quantize",
              TestAssets.model("face-blazeface-128").toString(),
              "--calibration",
              calibration.toString(),
              "--eval",
              eval.toString(),
              "--out",
              work.resolve("strict").toString(),
              "--max-score-delta",
              "0.0000001"
            },
            new PrintStream(out),
            new PrintStream(err));
    assertThat(rc).isEqualTo(3);
    assertThat(err.toString()).contains("accuracy_bound").contains("score moved");
    assertThat(work.resolve("strict")).doesNotExist();
    assertThat(ModelTool.run(new String[] {"quantize"}, new PrintStream(out), new PrintStream(err)))
        .isEqualTo(2);
  }
}
