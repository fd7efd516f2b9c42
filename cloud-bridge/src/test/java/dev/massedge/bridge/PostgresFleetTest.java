package dev.massedge.bridge;

import dev.massedge.bridge.testing.Postgres;

/** The same fleet tests on a real PostgreSQL: one schema, one set of migrations for both. */
class PostgresFleetTest extends FleetTest {
  private Postgres pg;

  @Override
  String dbUrl() throws Exception {
    pg = Postgres.start();
    return pg.newDatabase("fleet_test");
  }

  @Override
  void closeDatabase() throws Exception {
    if (pg != null) {
      pg.close();
    }
  }
}
