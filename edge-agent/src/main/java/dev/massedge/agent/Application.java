package dev.massedge.agent;

import io.micronaut.runtime.Micronaut;

/** The Mass Edge device agent. */
public final class Application {
  private Application() {}

  public static void main(String[] args) {
    Micronaut.build(args).banner(false).mainClass(Application.class).start();
  }
}
