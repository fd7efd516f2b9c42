package dev.massedge.hello;

import io.micronaut.context.annotation.Requires;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.runtime.Micronaut;

/**
 * A bare Micronaut hello-world (an HTTP server with one controller, as Micronaut Launch makes it):
 * the yardstick of {@code ./mass bench start}, which runs it from its own class path (Micronaut,
 * Netty, Jackson, logback, SnakeYAML — none of the agent). Inert elsewhere: its controller wants
 * {@code mass.hello-world=true}.
 */
public final class HelloApplication {
  private HelloApplication() {}

  public static void main(String[] args) {
    Micronaut.run(HelloApplication.class, args);
  }

  /** {@code GET /hello}. */
  @Controller("/hello")
  @Requires(property = "mass.hello-world", value = "true")
  public static class Hello {
    @Get(produces = "text/plain")
    public String hello() {
      return "Hello World";
    }
  }
}
