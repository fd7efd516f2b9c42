package dev.massedge.bridge.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Every log line of this JVM, from INFO up, while open (the console keeps printing only what it
 * did): to check that secrets never reach a log.
 */
public final class LogCapture implements AutoCloseable {
  private final Logger root = (Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
  private final Level before = root.getLevel();
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

  private final ch.qos.logback.classic.filter.ThresholdFilter consoleStaysQuiet =
      new ch.qos.logback.classic.filter.ThresholdFilter();

  public LogCapture() {
    appender.start();
    root.addAppender(appender);
    consoleStaysQuiet.setLevel(before == null ? "WARN" : before.toString());
    consoleStaysQuiet.start();
    root.iteratorForAppenders()
        .forEachRemaining(
            a -> {
              if (a != appender) {
                a.addFilter(consoleStaysQuiet); // the console prints what it printed before
              }
            });
    root.setLevel(Level.INFO);
  }

  /** Every line so far, formatted, with its throwable's messages. */
  public List<String> lines() {
    synchronized (appender.list) {
      return appender.list.stream()
          .map(
              e -> {
                StringBuilder b = new StringBuilder(e.getFormattedMessage());
                for (var t = e.getThrowableProxy(); t != null; t = t.getCause()) {
                  b.append(" | ").append(t.getMessage());
                }
                return b.toString();
              })
          .toList();
    }
  }

  @Override
  public void close() {
    root.setLevel(before);
    root.detachAppender(appender);
    root.iteratorForAppenders().forEachRemaining(a -> a.clearAllFilters());
  }
}
