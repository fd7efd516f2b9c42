package dev.massedge.bridge.db;

import dev.massedge.bridge.BridgeConfig;
import io.micronaut.configuration.jdbc.hikari.DatasourceConfiguration;
import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import jakarta.inject.Singleton;

/** Points the default datasource at {@link BridgeConfig#jdbcUrl()} before the pool starts. */
@Singleton
public final class DatabaseUrl implements BeanCreatedEventListener<DatasourceConfiguration> {
  private final BridgeConfig config;

  public DatabaseUrl(BridgeConfig config) {
    this.config = config;
  }

  @Override
  public DatasourceConfiguration onCreated(BeanCreatedEvent<DatasourceConfiguration> event) {
    DatasourceConfiguration c = event.getBean();
    String url = config.jdbcUrl();
    c.setUrl(url);
    if (url.startsWith("jdbc:postgresql:")) {
      c.setDriverClassName("org.postgresql.Driver");
    } else if (url.startsWith("jdbc:h2:")) {
      c.setDriverClassName("org.h2.Driver");
    }
    return c;
  }
}
