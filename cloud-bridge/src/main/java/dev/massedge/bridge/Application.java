package dev.massedge.bridge;

import io.micronaut.runtime.Micronaut;
import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeType;
import io.swagger.v3.oas.annotations.info.Info;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.security.SecurityScheme;

/** The Mass Edge cloud bridge: the fleet manager. */
@OpenAPIDefinition(
    info =
        @Info(
            title = "Mass Edge fleet API",
            version = "1",
            description =
                "Devices, twins, the model catalog, staged rollouts and telemetry. Every /api call"
                    + " needs Authorization: Bearer <token> (admin, or viewer for reads)."),
    security = @SecurityRequirement(name = "token"))
@SecurityScheme(name = "token", type = SecuritySchemeType.HTTP, scheme = "bearer")
public final class Application {
  private Application() {}

  public static void main(String[] args) {
    if (args.length > 0 && !args[0].startsWith("-")) {
      System.exit(dev.massedge.bridge.cli.Cli.run(args, System.out, System.err));
    }
    Micronaut.build(args).banner(false).mainClass(Application.class).start();
  }
}
