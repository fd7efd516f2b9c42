package dev.massedge.agent;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.core.ConsoleAppender;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class AgentLoggingTest {
  @Test
  void withoutAFileTheAgentLogsInfoAndAboveToStandardOutputOneLineAnEvent() {
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(
        new ch.qos.logback.classic.util.LogbackMDCAdapter()); // as logback's provider does
    AgentLogging logging = new AgentLogging();
    logging.setContext(context);
    PrintStream out = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      assertThat(logging.configure(context, false))
          .isEqualTo(Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
      Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
      assertThat(root.getLevel()).isEqualTo(Level.INFO);
      assertThat(root.getAppender("STDOUT")).isInstanceOf(ConsoleAppender.class);
      var encoder = ((ConsoleAppender<?>) root.getAppender("STDOUT")).getEncoder();
      assertThat(((PatternLayoutEncoder) encoder).getPattern()).isEqualTo(AgentLogging.PATTERN);
      Logger log = context.getLogger("dev.massedge.agent.models.ModelRegistry");
      log.debug("not shown");
      log.info("2 of 2 models ready");
    } finally {
      System.setOut(out);
      context.stop();
    }
    assertThat(captured.toString(StandardCharsets.UTF_8))
        .doesNotContain("not shown")
        .containsPattern(
            "\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  \\[main\\] d\\.m\\.a\\.m\\.ModelRegistry - 2 of 2"
                + " models ready\\R");
  }

  @Test
  void aLogbackFileGivenOrOnTheClassPathWins() {
    LoggerContext context = new LoggerContext();
    AgentLogging logging = new AgentLogging();
    logging.setContext(context);
    assertThat(logging.configure(context, true))
        .isEqualTo(Configurator.ExecutionStatus.INVOKE_NEXT_IF_ANY);
    assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders().hasNext())
        .isFalse();
    // the tests' logback-test.xml is on this class path: the agent leaves it to logback
    assertThat(logging.configure(context))
        .isEqualTo(Configurator.ExecutionStatus.INVOKE_NEXT_IF_ANY);
  }
}
