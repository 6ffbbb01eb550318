package dev.shepherd.examples;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The live fleet's device registry: a real JDBC database (H2 in memory by default, or any JDBC URL
 * such as PostgreSQL's) holding each device's id and the SHA-256 of its secret.
 *
 * <p>A real database would answer a few thousand such queries a second on a laptop; the outage's
 * database was slow because it was shared and loaded. To make the live demo show the same
 * bottleneck on any machine, each query holds one of a small pool of connections for a fixed cost,
 * so the registry completes at most {@code queriesPerSecond} queries a second; beyond that, callers
 * queue for a connection, as they would in front of a saturated database.
 *
 * <p>Thread-safe. {@link #close()} closes the connections (which drops a private in-memory H2
 * database).
 */
final class DeviceDatabase implements AutoCloseable {

  /** How many connections the registry holds; at most this many queries run at once. */
  static final int POOL = 4;

  private final BlockingQueue<Connection> pool;
  private final List<Connection> connections;
  private final long costNanos;
  private final AtomicLong queries = new AtomicLong();

  private DeviceDatabase(List<Connection> connections, long costNanos) {
    this.connections = connections;
    this.pool = new ArrayBlockingQueue<>(connections.size(), false, connections);
    this.costNanos = costNanos;
  }

  /**
   * Opens the registry and fills it with {@code devices} devices, {@code device-0} to
   * {@code device-(devices-1)}, whose secrets are {@link #secretOf(int)}.
   *
   * @param jdbcUrl the database; {@code null} for a private in-memory H2 database
   * @param user the user, or {@code null}
   * @param password the password, or {@code null}
   * @param devices how many devices to register
   * @param queriesPerSecond how many queries a second the registry completes at most
   * @return the open registry
   * @throws SQLException if the database cannot be reached or filled
   */
  static DeviceDatabase open(String jdbcUrl, String user, String password, int devices,
      int queriesPerSecond) throws SQLException {
    String url = jdbcUrl != null ? jdbcUrl
        : "jdbc:h2:mem:devices-" + System.nanoTime();
    List<Connection> connections = new ArrayList<>();
    try {
      for (int i = 0; i < POOL; i++) {
        connections.add(user == null
            ? DriverManager.getConnection(url)
            : DriverManager.getConnection(url, user, password));
      }
      Connection first = connections.get(0);
      try (Statement statement = first.createStatement()) {
        statement.execute("DROP TABLE IF EXISTS shepherd_devices");
        statement.execute("CREATE TABLE shepherd_devices ("
            + "device_id VARCHAR(64) PRIMARY KEY, secret_sha256 VARBINARY(32) NOT NULL)");
      }
      boolean autoCommit = first.getAutoCommit();
      first.setAutoCommit(false);
      try (PreparedStatement insert = first.prepareStatement(
          "INSERT INTO shepherd_devices (device_id, secret_sha256) VALUES (?, ?)")) {
        for (int i = 0; i < devices; i++) {
          insert.setString(1, deviceId(i));
          insert.setBytes(2, sha256(secretOf(i).getBytes(StandardCharsets.UTF_8)));
          insert.addBatch();
          if (i % 1_000 == 999) {
            insert.executeBatch();
          }
        }
        insert.executeBatch();
      }
      first.commit();
      first.setAutoCommit(autoCommit);
    } catch (SQLException e) {
      for (Connection connection : connections) {
        try {
          connection.close();
        } catch (SQLException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
    long cost = Math.max(0L, Math.round(POOL * 1e9 / queriesPerSecond));
    return new DeviceDatabase(connections, cost);
  }

  /** Returns the id of device {@code index}. */
  static String deviceId(int index) {
    return "device-" + index;
  }

  /** Returns the secret of device {@code index}; the fleet and the registry both know it. */
  static String secretOf(int index) {
    return String.format(Locale.ROOT, "s3cret-%08x", index * 0x9E3779B1);
  }

  /**
   * Checks a device's secret against the registry: one query.
   *
   * @param deviceId the device's id
   * @param secret the secret it presented
   * @return {@code true} if the device exists and the secret matches
   * @throws SQLException if the query fails
   * @throws InterruptedException if interrupted while waiting for a connection
   */
  boolean verify(String deviceId, byte[] secret) throws SQLException, InterruptedException {
    Connection connection = pool.take();
    try {
      queries.incrementAndGet();
      byte[] stored = null;
      try (PreparedStatement select = connection.prepareStatement(
          "SELECT secret_sha256 FROM shepherd_devices WHERE device_id = ?")) {
        select.setString(1, deviceId);
        try (ResultSet rows = select.executeQuery()) {
          if (rows.next()) {
            stored = rows.getBytes(1);
          }
        }
      }
      // The cost of a loaded, shared database: the connection stays busy for a fixed while.
      if (costNanos > 0) {
        TimeUnit.NANOSECONDS.sleep(costNanos);
      }
      return stored != null && MessageDigest.isEqual(stored, sha256(secret));
    } finally {
      pool.add(connection);
    }
  }

  /** Returns how many queries have been made so far. */
  long queries() {
    return queries.get();
  }

  @Override
  public void close() throws SQLException {
    SQLException failure = null;
    for (Connection connection : connections) {
      try {
        connection.close();
      } catch (SQLException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    }
  }
}
