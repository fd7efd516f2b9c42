package dev.massedge.agent.pipeline;

/**
 * The thread a pipeline runs on: started once; stopped by clearing its flag, closing the source
 * (which unblocks a read in progress) and joining.
 */
final class PipelineThread {
  private volatile boolean running;
  private Thread thread;

  synchronized boolean started() {
    return thread != null;
  }

  synchronized void start(String pipeline, Runnable body) {
    running = true;
    thread = new Thread(body, "pipeline-" + pipeline);
    thread.setDaemon(true);
    thread.start();
  }

  boolean running() {
    return running;
  }

  void stop(AutoCloseable source) {
    running = false;
    try {
      source.close();
    } catch (Exception ignored) {
      // closing is best effort: the thread ends on the flag anyway
    }
    Thread t;
    synchronized (this) {
      t = thread;
    }
    if (t != null) {
      try {
        t.join(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
