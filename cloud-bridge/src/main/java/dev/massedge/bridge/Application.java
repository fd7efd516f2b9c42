package dev.massedge.bridge;

import io.micronaut.runtime.Micronaut;

/** The Mass Edge cloud bridge: the fleet manager. */
public final class Application {
  private Application() {}

  public static void main(String[] args) {
    if (args.length > 0 && !args[0].startsWith("-")) {
      System.exit(dev.massedge.bridge.cli.Cli.run(args, System.out, System.err));
    }
    Micronaut.build(args).banner(false).mainClass(Application.class).start();
  }
}
