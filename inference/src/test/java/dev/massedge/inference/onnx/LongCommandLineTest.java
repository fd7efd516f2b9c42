package dev.massedge.inference.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.TestAssets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime 1.29.0 kills the JVM with SIGSEGV when the command line is over ~4 KB. The engine
 * must refuse with a message instead, so an agent started that way says what to change.
 */
class LongCommandLineTest {
  /** Child process: opens a model and prints the outcome. */
  public static void main(String[] args) {
    try {
      new OnnxEngine().open(Path.of(args[0]), EngineOptions.cpu(1)).close();
      System.out.println("opened");
    } catch (InferenceException e) {
      System.out.println(e.code() + ": " + e.getMessage());
    }
  }

  static String run(int padding) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb =
        new ProcessBuilder(
            java,
            "-Dpadding=" + "x".repeat(padding),
            LongCommandLineTest.class.getName(),
            TestAssets.model("face-blazeface-128").resolve("model.onnx").toString());
    // the class path goes by environment variable, which does not count
    pb.environment().put("CLASSPATH", System.getProperty("java.class.path"));
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("exit code; output: %s", out).isZero();
    return out;
  }

  @Test
  void aLongCommandLineGetsAClearErrorNotACrash() throws Exception {
    assertThat(run(10)).contains("opened");
    String out = run(5000);
    assertThat(out).contains("engine_error").contains("command line");
    assertThat(List.of(out.split("\n"))).noneMatch(l -> l.contains("opened"));
  }
}
