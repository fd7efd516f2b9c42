package dev.massedge.bridge.db;

import jakarta.inject.Singleton;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Plain JDBC over the bridge's one schema (PostgreSQL syntax; H2 runs it in PostgreSQL mode). Rows
 * come back as maps with lower-case column names; times are epoch milliseconds in {@code bigint}
 * columns, so both databases store exactly the same values.
 */
@Singleton
public final class Db {
  private final DataSource ds;
  private final ThreadLocal<Connection> current = new ThreadLocal<>();

  public Db(DataSource ds) {
    this.ds = ds;
  }

  /** Work inside one transaction; a nested call joins the outer one. */
  public interface Work<T> {
    T run() throws SQLException;
  }

  public <T> T tx(Work<T> work) {
    if (current.get() != null) {
      try {
        return work.run();
      } catch (SQLException e) {
        throw new DbException(e);
      }
    }
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      current.set(c);
      try {
        T t = work.run();
        c.commit();
        return t;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        current.remove();
        c.setAutoCommit(true);
      }
    } catch (SQLException e) {
      throw new DbException(e);
    }
  }

  public List<Map<String, Object>> query(String sql, Object... args) {
    return tx(
        () -> {
          try (PreparedStatement s = current.get().prepareStatement(sql)) {
            bind(s, args);
            try (ResultSet r = s.executeQuery()) {
              ResultSetMetaData md = r.getMetaData();
              List<Map<String, Object>> out = new ArrayList<>();
              while (r.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                  row.put(md.getColumnLabel(i).toLowerCase(java.util.Locale.ROOT), r.getObject(i));
                }
                out.add(row);
              }
              return out;
            }
          }
        });
  }

  public Optional<Map<String, Object>> one(String sql, Object... args) {
    List<Map<String, Object>> l = query(sql, args);
    return l.isEmpty() ? Optional.empty() : Optional.of(l.get(0));
  }

  public int update(String sql, Object... args) {
    return tx(
        () -> {
          try (PreparedStatement s = current.get().prepareStatement(sql)) {
            bind(s, args);
            return s.executeUpdate();
          }
        });
  }

  /** Inserts and returns the generated {@code id}. */
  public long insert(String sql, Object... args) {
    return tx(
        () -> {
          try (PreparedStatement s = current.get().prepareStatement(sql, new String[] {"id"})) {
            bind(s, args);
            s.executeUpdate();
            try (ResultSet k = s.getGeneratedKeys()) {
              k.next();
              return k.getLong(1);
            }
          }
        });
  }

  /** One statement for many rows (a JDBC batch). */
  public void batch(String sql, List<Object[]> rows) {
    if (rows.isEmpty()) {
      return;
    }
    tx(
        () -> {
          try (PreparedStatement s = current.get().prepareStatement(sql)) {
            for (Object[] r : rows) {
              bind(s, r);
              s.addBatch();
            }
            s.executeBatch();
          }
          return null;
        });
  }

  /** A unique-key violation (another writer inserted the same row first). */
  public static boolean isDuplicate(RuntimeException e) {
    Throwable t = e instanceof DbException ? e.getCause() : e;
    return t instanceof SQLException s && "23505".equals(s.getSQLState());
  }

  private static void bind(PreparedStatement s, Object[] args) throws SQLException {
    for (int i = 0; i < args.length; i++) {
      s.setObject(i + 1, args[i]);
    }
  }

  /** A database failure, unchecked. */
  public static final class DbException extends RuntimeException {
    DbException(SQLException e) {
      super(e.getMessage(), e);
    }
  }

  public static long asLong(Object o) {
    return o == null ? 0 : ((Number) o).longValue();
  }
}
