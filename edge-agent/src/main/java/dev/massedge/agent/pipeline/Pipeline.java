package dev.massedge.agent.pipeline;

import java.util.Map;

/** A running pipeline: a thread from its source to its sinks. */
public interface Pipeline extends AutoCloseable {
  String name();

  String kind();

  void start();

  /** State and counters for {@code GET /v1/pipelines}. */
  Map<String, Object> status();

  @Override
  void close();
}
