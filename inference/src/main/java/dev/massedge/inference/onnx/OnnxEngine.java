package dev.massedge.inference.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.providers.OrtTensorRTProviderOptions;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ONNX Runtime. Execution providers are tried in the configured order; one that cannot load (not in
 * this build, or its CUDA/TensorRT libraries missing) is skipped with a logged reason and the next
 * is tried. CPU always ends the chain.
 */
public final class OnnxEngine implements Engine {
  private static final Logger log = LoggerFactory.getLogger(OnnxEngine.class);
  public static final String NAME = "onnxruntime";

  private final OrtEnvironment env;

  /**
   * ONNX Runtime 1.29.0's Java binding crashes the JVM (SIGSEGV, no hs_err file) at the first
   * session when the process's command line is longer than about 4 KB, for example a long {@code
   * -cp} (reproduced here: a long {@code -D} argument does it too; a long {@code CLASSPATH}
   * environment variable does not). Checked before the native library loads, so the agent fails
   * with a message instead of dying.
   */
  static final int COMMAND_LINE_LIMIT = 4000;

  public OnnxEngine() {
    long length = commandLineLength();
    if (length > COMMAND_LINE_LIMIT) {
      throw new ModelLoadException(
          "engine_error",
          "this JVM's command line is "
              + length
              + " bytes; ONNX Runtime 1.29.0 crashes the JVM above about 4 KB. Start with java"
              + " -jar (a manifest Class-Path), a manifest-only pathing jar, or the CLASSPATH"
              + " environment variable");
    }
    OrtNatives.useCache();
    env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "mass-edge");
  }

  private static long commandLineLength() {
    try {
      // procfs reports size 0: read it
      return Files.readAllBytes(Path.of("/proc/self/cmdline")).length;
    } catch (java.io.IOException | UnsupportedOperationException e) {
      return 0; // not Linux: nothing to check
    }
  }

  @Override
  public String name() {
    return NAME;
  }

  /** The providers compiled into the ONNX Runtime library on the class path. */
  public static EnumSet<OrtProvider> availableProviders() {
    OrtNatives.useCache();
    return OrtEnvironment.getAvailableProviders();
  }

  @Override
  public ModelSession open(Path modelFile, EngineOptions options) {
    if (!Files.isRegularFile(modelFile)) {
      throw new ModelLoadException("model_missing", "model file " + modelFile + " does not exist");
    }
    return open(modelFile, null, options);
  }

  /** From memory when {@code model} is not null (ONNX Runtime parses the bytes itself). */
  @Override
  public ModelSession open(Path modelFile, byte[] model, EngineOptions options) {
    OrtSession.SessionOptions so = new OrtSession.SessionOptions();
    try {
      so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      if (options.intraOpThreads() > 0) {
        so.setIntraOpNumThreads(options.intraOpThreads());
      }
      if (options.interOpThreads() > 0) {
        so.setInterOpNumThreads(options.interOpThreads());
      }
      List<String> skipped = new ArrayList<>();
      String active = addProviders(so, options, modelFile, model, skipped);
      OrtSession session;
      try {
        session =
            model == null
                ? env.createSession(modelFile.toString(), so)
                : env.createSession(model, so);
      } catch (OrtException e) {
        throw new ModelLoadException(
            "model_corrupt",
            "ONNX Runtime cannot load " + modelFile + ": " + firstLine(e.getMessage()),
            e);
      }
      return new OnnxSession(env, session, so, active, List.copyOf(skipped));
    } catch (OrtException e) {
      so.close();
      throw new ModelLoadException("engine_error", "cannot configure ONNX Runtime: " + e, e);
    } catch (RuntimeException e) {
      so.close();
      throw e;
    }
  }

  private String addProviders(
      OrtSession.SessionOptions so,
      EngineOptions options,
      Path model,
      byte[] bytes,
      List<String> skipped) {
    EnumSet<OrtProvider> available = availableProviders();
    for (String provider : options.executionProviders()) {
      switch (provider) {
        case "cpu" -> {
          return "cpu";
        }
        case "cuda" -> {
          if (!available.contains(OrtProvider.CUDA)) {
            skip(
                skipped, model, "cuda", "not in this ONNX Runtime build (use the GPU agent build)");
            continue;
          }
          try {
            so.addCUDA(deviceId(options, "cuda"));
            return "cuda";
          } catch (OrtException | RuntimeException e) {
            skip(skipped, model, "cuda", firstLine(e.getMessage()));
          }
        }
        case "tensorrt" -> {
          if (!available.contains(OrtProvider.TENSOR_RT)) {
            skip(
                skipped,
                model,
                "tensorrt",
                "not in this ONNX Runtime build (use the GPU agent build)");
            continue;
          }
          try (OrtTensorRTProviderOptions trt =
              new OrtTensorRTProviderOptions(deviceId(options, "tensorrt"))) {
            EngineOptions.TensorRtOptions t = options.tensorRt();
            trt.add("trt_fp16_enable", t.fp16() ? "1" : "0");
            trt.add("trt_int8_enable", t.int8() ? "1" : "0");
            if (t.engineCacheDir() != null) {
              // one folder per model, TensorRT version and GPU (TensorRtCache)
              Path dir =
                  TensorRtCache.detect(t.engineCacheDir())
                      .dirFor(bytes != null ? bytes : java.nio.file.Files.readAllBytes(model));
              trt.add("trt_engine_cache_enable", "1");
              trt.add("trt_engine_cache_path", dir.toString());
            }
            if (t.workspaceBytes() > 0) {
              trt.add("trt_max_workspace_size", Long.toString(t.workspaceBytes()));
            }
            if (t.dlaCore() >= 0) {
              trt.add("trt_dla_enable", "1");
              trt.add("trt_dla_core", Integer.toString(t.dlaCore()));
            }
            for (var kv : options.providerOptions().getOrDefault("tensorrt", Map.of()).entrySet()) {
              trt.add(kv.getKey(), kv.getValue());
            }
            so.addTensorrt(trt);
            return "tensorrt";
          } catch (OrtException | java.io.IOException | RuntimeException e) {
            skip(skipped, model, "tensorrt", firstLine(e.getMessage()));
          }
        }
        case "xnnpack" -> {
          if (!available.contains(OrtProvider.XNNPACK)) {
            skip(skipped, model, "xnnpack", "not in this ONNX Runtime build");
            continue;
          }
          try {
            so.addXnnpack(options.providerOptions().getOrDefault("xnnpack", Map.of()));
            return "xnnpack";
          } catch (OrtException | RuntimeException e) {
            skip(skipped, model, "xnnpack", firstLine(e.getMessage()));
          }
        }
        default -> skip(skipped, model, provider, "unknown to ONNX Runtime");
      }
    }
    return "cpu";
  }

  private static int deviceId(EngineOptions options, String provider) {
    String id = options.providerOptions().getOrDefault(provider, Map.of()).get("device_id");
    return id == null ? 0 : Integer.parseInt(id);
  }

  private static void skip(List<String> skipped, Path model, String provider, String reason) {
    String line = provider + ": " + reason;
    skipped.add(line);
    log.warn("{}: execution provider {} unavailable, falling back: {}", model, provider, reason);
  }

  static String firstLine(String s) {
    if (s == null) {
      return "unknown error";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  static DataType toDataType(OnnxJavaType t) {
    return switch (t) {
      case FLOAT -> DataType.FP32;
      case DOUBLE -> DataType.FP64;
      case INT8 -> DataType.INT8;
      case UINT8 -> DataType.UINT8;
      case INT16 -> DataType.INT16;
      case INT32 -> DataType.INT32;
      case INT64 -> DataType.INT64;
      case BOOL -> DataType.BOOL;
      case FLOAT16 -> DataType.FP16;
      case STRING -> DataType.BYTES;
      default ->
          throw new ModelLoadException(
              "unsupported_datatype", "ONNX type " + t + " is not supported");
    };
  }

  static OnnxJavaType toOnnx(DataType t) {
    return switch (t) {
      case FP32 -> OnnxJavaType.FLOAT;
      case FP64 -> OnnxJavaType.DOUBLE;
      case INT8 -> OnnxJavaType.INT8;
      case UINT8 -> OnnxJavaType.UINT8;
      case INT16 -> OnnxJavaType.INT16;
      case INT32 -> OnnxJavaType.INT32;
      case INT64 -> OnnxJavaType.INT64;
      case BOOL -> OnnxJavaType.BOOL;
      case FP16 -> OnnxJavaType.FLOAT16;
      case BYTES -> OnnxJavaType.STRING;
    };
  }

  private static final class OnnxSession implements ModelSession {
    private final OrtEnvironment env;
    private final OrtSession session;
    private final OrtSession.SessionOptions options;
    private final String provider;
    private final List<String> skipped;
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;

    OnnxSession(
        OrtEnvironment env,
        OrtSession session,
        OrtSession.SessionOptions options,
        String provider,
        List<String> skipped)
        throws OrtException {
      this.env = env;
      this.session = session;
      this.options = options;
      this.provider = provider;
      this.skipped = skipped;
      this.inputs = specs(session.getInputInfo());
      this.outputs = specs(session.getOutputInfo());
    }

    private static List<TensorSpec> specs(Map<String, NodeInfo> info) {
      List<TensorSpec> out = new ArrayList<>();
      for (NodeInfo n : info.values()) {
        if (n.getInfo() instanceof TensorInfo ti) {
          out.add(new TensorSpec(n.getName(), toDataType(ti.type), ti.getShape()));
        } else {
          throw new ModelLoadException(
              "unsupported_model",
              "value '" + n.getName() + "' is " + n.getInfo() + "; only tensors are supported");
        }
      }
      return List.copyOf(out);
    }

    @Override
    public List<TensorSpec> inputs() {
      return inputs;
    }

    @Override
    public List<TensorSpec> outputs() {
      return outputs;
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
    public Map<String, Tensor> run(Map<String, Tensor> in) {
      SessionInputs.check(inputs, in);
      Map<String, OnnxTensor> ort = new LinkedHashMap<>();
      try {
        for (var e : in.entrySet()) {
          ort.put(e.getKey(), toOrt(e.getValue()));
        }
        try (OrtSession.Result result = session.run(ort)) {
          Map<String, Tensor> out = new LinkedHashMap<>();
          for (Map.Entry<String, OnnxValue> e : result) {
            out.put(e.getKey(), fromOrt((OnnxTensor) e.getValue()));
          }
          return out;
        }
      } catch (OrtException e) {
        throw new InferenceException(
            "inference_failed", "ONNX Runtime failed: " + firstLine(e.getMessage()), e);
      } finally {
        ort.values().forEach(OnnxTensor::close);
      }
    }

    private OnnxTensor toOrt(Tensor t) throws OrtException {
      if (t.type() == DataType.BYTES) {
        String[] s = new String[t.strings().size()];
        for (int i = 0; i < s.length; i++) {
          s[i] = new String(t.strings().get(i), StandardCharsets.UTF_8);
        }
        return OnnxTensor.createTensor(env, s, t.shape());
      }
      ByteBuffer data = t.rawData();
      if (data.isDirect()) {
        return OnnxTensor.createTensor(env, data, t.shape(), toOnnx(t.type()));
      }
      // ORT reads heap buffers through their typed views (and copies them).
      return switch (t.type()) {
        case FP32 -> OnnxTensor.createTensor(env, data.asFloatBuffer(), t.shape());
        case FP64 -> OnnxTensor.createTensor(env, data.asDoubleBuffer(), t.shape());
        case INT64 -> OnnxTensor.createTensor(env, data.asLongBuffer(), t.shape());
        case INT32 -> OnnxTensor.createTensor(env, data.asIntBuffer(), t.shape());
        case INT16 -> OnnxTensor.createTensor(env, data.asShortBuffer(), t.shape());
        case FP16 ->
            OnnxTensor.createTensor(env, data.asShortBuffer(), t.shape(), OnnxJavaType.FLOAT16);
        default -> OnnxTensor.createTensor(env, data, t.shape(), toOnnx(t.type()));
      };
    }

    private static Tensor fromOrt(OnnxTensor v) throws OrtException {
      TensorInfo info = v.getInfo();
      DataType type = toDataType(info.type);
      if (type == DataType.BYTES) {
        List<byte[]> values = new ArrayList<>();
        flatten(v.getValue(), values);
        return Tensor.ofStrings(info.getShape(), values);
      }
      ByteBuffer b = v.getByteBuffer();
      return Tensor.of(type, info.getShape(), b.order(ByteOrder.nativeOrder()));
    }

    private static void flatten(Object o, List<byte[]> out) {
      if (o instanceof String s) {
        out.add(s.getBytes(StandardCharsets.UTF_8));
      } else if (o instanceof Object[] arr) {
        for (Object x : arr) {
          flatten(x, out);
        }
      }
    }

    @Override
    public void close() {
      try {
        session.close();
      } catch (OrtException e) {
        log.warn("closing ONNX Runtime session failed: {}", e.getMessage());
      } finally {
        options.close();
      }
    }
  }
}
