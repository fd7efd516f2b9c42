package dev.massedge.agent;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * The agent's logging set up in code: INFO and above to standard output, one line per event. An XML
 * configuration would load logback's Joran and the JDK's XML parser at every start — about 600
 * classes, 3 MB of class metadata and a part of the start time, for four lines of settings ({@code
 * ./mass bench footprint}). A {@code logback.xml} given with {@code -Dlogback.configurationFile} or
 * found on the class path (the tests' {@code logback-test.xml}) still wins; levels per logger are
 * set with Micronaut's {@code logger.levels.*}.
 */
public final class AgentLogging extends ContextAwareBase implements Configurator {
  static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level [%thread] %logger{24} - %msg%n";

  @Override
  public Configurator.ExecutionStatus configure(LoggerContext context) {
    ClassLoader loader = AgentLogging.class.getClassLoader();
    return configure(
        context,
        System.getProperty("logback.configurationFile") != null
            || loader.getResource("logback-test.xml") != null
            || loader.getResource("logback.xml") != null);
  }

  /** With {@code fileGiven}, leaves the context to logback's XML configurator. */
  Configurator.ExecutionStatus configure(LoggerContext context, boolean fileGiven) {
    if (fileGiven) {
      return Configurator.ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(PATTERN);
    encoder.start();
    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setContext(context);
    console.setName("STDOUT");
    console.setEncoder(encoder);
    console.start();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    root.addAppender(console);
    return Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }
}
