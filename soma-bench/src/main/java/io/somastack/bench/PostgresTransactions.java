package io.somastack.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Counts the transactions (commits and rollbacks, every database) of a running embedded
 * PostgreSQL, read from {@code pg_stat_database} over its own connection, so a benchmark can
 * report transactions per call. Found by its data directory: {@code postmaster.pid}'s fourth
 * line is the port. Statistics are flushed by each backend about once a second, so a window's
 * count is exact to about a second's worth of transactions at its edges; this reader's own
 * statement adds one per read.
 */
final class PostgresTransactions implements AutoCloseable {
    private final Connection connection;

    PostgresTransactions(Path postgresDirectory) {
        try {
            List<String> pid = Files.readAllLines(postgresDirectory.resolve("postmaster.pid"));
            connection = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:%s/postgres".formatted(pid.get(3).trim()), "postgres", "");
            connection.setAutoCommit(true);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the port of the PostgreSQL in " + postgresDirectory, e);
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot connect to the PostgreSQL in " + postgresDirectory + ": " + e.getMessage(), e);
        }
    }

    /** Transactions committed or rolled back so far, all databases. */
    long count() {
        try (Statement statement = connection.createStatement();
                ResultSet sum = statement.executeQuery("SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database")) {
            sum.next();
            return sum.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot read pg_stat_database: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            connection.close();
        } catch (SQLException ignored) {
            // closing a statistics reader
        }
    }
}
