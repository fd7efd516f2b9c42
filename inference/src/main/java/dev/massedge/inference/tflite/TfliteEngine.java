package dev.massedge.inference.tflite;

import static org.bytedeco.tensorflowlite.global.tensorflowlite.*;

import dev.massedge.inference.DataType;
import dev.massedge.inference.Engine;
import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.ModelLoadException;
import dev.massedge.inference.ModelSession;
import dev.massedge.inference.SessionInputs;
import dev.massedge.inference.Tensor;
import dev.massedge.inference.TensorSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.tensorflowlite.BuiltinOpResolver;
import org.bytedeco.tensorflowlite.BuiltinOpResolverWithoutDefaultDelegates;
import org.bytedeco.tensorflowlite.FlatBufferModel;
import org.bytedeco.tensorflowlite.Interpreter;
import org.bytedeco.tensorflowlite.InterpreterBuilder;
import org.bytedeco.tensorflowlite.TfLiteTensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TensorFlow Lite, the real C++ runtime through the JavaCPP presets. With "xnnpack" in the provider
 * chain (before "cpu") the default op resolver applies the XNNPACK delegate; "cpu" alone runs
 * TFLite's reference kernels. An interpreter runs one request at a time, so {@link
 * ModelSession#run} is serialised per session; open several sessions to run in parallel.
 */
public final class TfliteEngine implements Engine {
  private static final Logger log = LoggerFactory.getLogger(TfliteEngine.class);
  public static final String NAME = "tflite";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public ModelSession open(Path modelFile, EngineOptions options) {
    if (!Files.isRegularFile(modelFile)) {
      throw new ModelLoadException("model_missing", "model file " + modelFile + " does not exist");
    }
    List<String> skipped = new ArrayList<>();
    for (String p : options.executionProviders()) {
      if (p.equals("cpu") || p.equals("xnnpack")) {
        break;
      }
      skipped.add(p + ": TensorFlow Lite has no " + p + " delegate in this build");
      log.warn(
          "{}: execution provider {} unavailable in TensorFlow Lite, falling back", modelFile, p);
    }
    boolean xnnpack =
        !options.executionProviders().contains("cpu")
            || options.executionProviders().indexOf("xnnpack") >= 0
                && options.executionProviders().indexOf("xnnpack")
                    < options.executionProviders().indexOf("cpu");
    FlatBufferModel model = FlatBufferModel.BuildFromFile(modelFile.toString());
    if (model == null || model.isNull()) {
      throw new ModelLoadException(
          "model_corrupt",
          "TensorFlow Lite cannot load " + modelFile + ": not a valid .tflite file");
    }
    // The default resolver applies the XNNPACK delegate to what it supports; the "without default
    // delegates" one runs TFLite's own kernels (the "cpu" provider).
    BuiltinOpResolver resolver =
        xnnpack ? new BuiltinOpResolver() : new BuiltinOpResolverWithoutDefaultDelegates();
    InterpreterBuilder builder = new InterpreterBuilder(model, resolver);
    builder.SetNumThreads(options.intraOpThreads() > 0 ? options.intraOpThreads() : 1);
    Interpreter interpreter = new Interpreter((Pointer) null);
    if (builder.apply(interpreter) != kTfLiteOk || interpreter.isNull()) {
      builder.close();
      resolver.close();
      model.close();
      throw new ModelLoadException(
          "model_corrupt",
          "TensorFlow Lite cannot build an interpreter for " + modelFile + " (unsupported ops?)");
    }
    builder.close();
    if (interpreter.AllocateTensors() != kTfLiteOk) {
      interpreter.close();
      resolver.close();
      model.close();
      throw new ModelLoadException(
          "model_corrupt", "TensorFlow Lite cannot allocate tensors for " + modelFile);
    }
    return new TfliteSession(
        model, resolver, interpreter, xnnpack ? "xnnpack" : "cpu", List.copyOf(skipped));
  }

  static DataType toDataType(int t) {
    return switch (t) {
      case 1 -> DataType.FP32;
      case 2 -> DataType.INT32;
      case 3 -> DataType.UINT8;
      case 4 -> DataType.INT64;
      case 5 -> DataType.BYTES;
      case 6 -> DataType.BOOL;
      case 7 -> DataType.INT16;
      case 9 -> DataType.INT8;
      case 10 -> DataType.FP16;
      case 11 -> DataType.FP64;
      default ->
          throw new ModelLoadException(
              "unsupported_datatype",
              "TensorFlow Lite type " + TfLiteTypeGetName(t).getString() + " is not supported");
    };
  }

  private static final class TfliteSession implements ModelSession {
    private final FlatBufferModel model;
    private final BuiltinOpResolver resolver;
    private final Interpreter interpreter;
    private final String provider;
    private final List<String> skipped;
    private final List<TensorSpec> inputs = new ArrayList<>();
    private final List<TensorSpec> outputs = new ArrayList<>();
    private final int[] inputIndex;
    private final int[] outputIndex;
    private final ByteBuffer[] staging;
    private boolean closed;

    TfliteSession(
        FlatBufferModel model,
        BuiltinOpResolver resolver,
        Interpreter interpreter,
        String provider,
        List<String> skipped) {
      this.model = model;
      this.resolver = resolver;
      this.interpreter = interpreter;
      this.provider = provider;
      this.skipped = skipped;
      IntPointer in = interpreter.inputs();
      inputIndex = new int[(int) in.capacity()];
      staging = new ByteBuffer[inputIndex.length];
      for (int i = 0; i < inputIndex.length; i++) {
        inputIndex[i] = in.get(i);
        TfLiteTensor t = interpreter.tensor(inputIndex[i]);
        inputs.add(spec(t));
        staging[i] =
            ByteBuffer.allocateDirect((int) TfLiteTensorByteSize(t)).order(ByteOrder.nativeOrder());
      }
      IntPointer out = interpreter.outputs();
      outputIndex = new int[(int) out.capacity()];
      for (int i = 0; i < outputIndex.length; i++) {
        outputIndex[i] = out.get(i);
        outputs.add(spec(interpreter.tensor(outputIndex[i])));
      }
    }

    private static TensorSpec spec(TfLiteTensor t) {
      long[] shape = new long[TfLiteTensorNumDims(t)];
      for (int d = 0; d < shape.length; d++) {
        shape[d] = TfLiteTensorDim(t, d);
      }
      return new TensorSpec(
          TfLiteTensorName(t).getString(), toDataType(TfLiteTensorType(t)), shape);
    }

    @Override
    public List<TensorSpec> inputs() {
      return List.copyOf(inputs);
    }

    @Override
    public List<TensorSpec> outputs() {
      return List.copyOf(outputs);
    }

    @Override
    public String engine() {
      return NAME;
    }

    @Override
    public String executionProvider() {
      return provider;
    }

    @Override
    public List<String> skippedProviders() {
      return skipped;
    }

    @Override
    public synchronized Map<String, Tensor> run(Map<String, Tensor> in) {
      if (closed) {
        throw new InferenceException("session_closed", "the TensorFlow Lite session is closed");
      }
      SessionInputs.check(inputs, in);
      for (int i = 0; i < inputs.size(); i++) {
        Tensor t = in.get(inputs.get(i).name());
        if (t.type() == DataType.BYTES) {
          throw new InferenceException(
              "unsupported_datatype",
              "BYTES inputs are not supported by the TensorFlow Lite engine");
        }
        ByteBuffer src = t.rawData();
        ByteBuffer direct = src.isDirect() ? src : staging[i].clear().put(src).flip();
        TfLiteTensor target = interpreter.tensor(inputIndex[i]);
        int rc = TfLiteTensorCopyFromBuffer(target, new Pointer(direct), direct.remaining());
        if (rc != kTfLiteOk) {
          throw new InferenceException(
              "inference_failed", "TensorFlow Lite rejected input " + inputs.get(i).describe());
        }
      }
      if (interpreter.Invoke() != kTfLiteOk) {
        throw new InferenceException("inference_failed", "TensorFlow Lite Invoke failed");
      }
      Map<String, Tensor> out = new LinkedHashMap<>();
      for (int i = 0; i < outputs.size(); i++) {
        TfLiteTensor t = interpreter.tensor(outputIndex[i]);
        long size = TfLiteTensorByteSize(t);
        ByteBuffer copy = ByteBuffer.allocate((int) size).order(ByteOrder.nativeOrder());
        copy.put(TfLiteTensorData(t).capacity(size).asByteBuffer()).flip();
        TensorSpec s = outputs.get(i);
        out.put(s.name(), Tensor.of(s.type(), s.shape(), copy));
      }
      return out;
    }

    @Override
    public synchronized void close() {
      if (!closed) {
        closed = true;
        interpreter.close();
        resolver.close();
        model.close();
      }
    }
  }
}
