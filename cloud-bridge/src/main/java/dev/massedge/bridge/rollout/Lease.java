package dev.massedge.bridge.rollout;

import dev.massedge.bridge.db.Db;

/**
 * A named lease in the database: one bridge instance at a time holds it, renewing it on every use;
 * when the holder dies it expires after {@code ttl} and another instance takes it over.
 */
final class Lease {
  private final Db db;
  private final String name;
  private final String holder;
  private final long ttlMillis;

  Lease(Db db, String name, String holder, long ttlMillis) {
    this.db = db;
    this.name = name;
    this.holder = holder;
    this.ttlMillis = ttlMillis;
  }

  /** Takes or renews the lease; false while another live instance holds it. */
  boolean hold() {
    long now = System.currentTimeMillis();
    int n =
        db.update(
            "update leases set holder = ?, expires_at = ? where name = ? and (holder = ? or"
                + " expires_at < ?)",
            holder,
            now + ttlMillis,
            name,
            holder,
            now);
    if (n == 1) {
      return true;
    }
    if (db.one("select name from leases where name = ?", name).isPresent()) {
      return false;
    }
    try {
      db.update(
          "insert into leases (name, holder, expires_at) values (?, ?, ?)",
          name,
          holder,
          now + ttlMillis);
      return true;
    } catch (RuntimeException e) {
      if (Db.isDuplicate(e)) {
        return false;
      }
      throw e;
    }
  }

  String holder() {
    return db.one("select holder, expires_at from leases where name = ?", name)
        .filter(r -> Db.asLong(r.get("expires_at")) >= System.currentTimeMillis())
        .map(r -> (String) r.get("holder"))
        .orElse(null);
  }
}
