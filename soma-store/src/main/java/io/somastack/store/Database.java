package io.somastack.store;

import static java.util.Objects.requireNonNull;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.somastack.store.internal.EmbeddedDatabase;
import io.somastack.store.internal.SchemaHistory;
import java.time.Duration;
import java.util.Optional;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.postgres.PostgresPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relational store: an embedded PostgreSQL (data in {@code <data-dir>/postgres}) or an
 * external one, a connection pool, and every module's Flyway migrations (all under
 * {@code classpath:db/migration}, versions partitioned by module: see soma-store/README.md).
 * Lifecycle: {@link #start()} then {@link #close()}. Thread-safe after start.
 */
public final class Database implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Database.class);
    /** How long the embedded PostgreSQL waits at JVM exit for its owner's close ({@link #stopEmbeddedAfterCloseAtExit()}). */
    public static final Duration CLOSE_AT_EXIT_GRACE = EmbeddedDatabase.OWNER_GRACE;

    private final StoreConfig config;
    private EmbeddedDatabase embedded;
    private HikariDataSource dataSource;
    private Jdbi jdbi;
    private HikariDataSource asyncCommitSource;
    private Notifications notifications;
    private boolean schemaCheckedByFlyway;

    public Database(StoreConfig config) {
        this.config = requireNonNull(config, "config is null");
    }

    /** Starts the store; on failure, whatever was started (the embedded PostgreSQL, the pool) is closed again. */
    public Database start() {
        try {
            return open();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private Database open() {
        HikariConfig hikari = new HikariConfig();
        if (config.databaseUrl().isPresent()) {
            hikari.setJdbcUrl(config.databaseUrl().get());
            config.databaseUser().ifPresent(hikari::setUsername);
            config.databasePassword().ifPresent(hikari::setPassword);
        } else {
            embedded = EmbeddedDatabase.start(config.dataDirectory().resolve("postgres"));
            hikari.setJdbcUrl(embedded.jdbcUrl());
            hikari.setUsername("postgres");
        }
        hikari.setPoolName("soma");
        hikari.setMaximumPoolSize(config.poolSize());
        hikari.setConnectionTimeout(config.connectTimeout().toMillis());
        hikari.setInitializationFailTimeout(config.connectTimeout().toMillis());
        hikari.addDataSourceProperty("reWriteBatchedInserts", "true");
        hikari.addDataSourceProperty("ApplicationName", "somastack");
        dataSource = new HikariDataSource(hikari);
        migrate();
        jdbi = Jdbi.create(dataSource).installPlugin(new PostgresPlugin());
        HikariConfig relaxed = new HikariConfig();
        hikari.copyStateTo(relaxed);
        relaxed.setPoolName("soma-async-commit");
        relaxed.setMaximumPoolSize(Math.max(2, config.poolSize() / 2));
        relaxed.setConnectionInitSql("SET synchronous_commit = off");
        asyncCommitSource = new HikariDataSource(relaxed);
        return this;
    }

    /**
     * Brings the schema to this build's migrations. When the history already holds every one
     * of them with the checksum of its script (one query, see {@link SchemaHistory}), Flyway's
     * class path scan and validation are skipped; any difference runs Flyway as before, whose
     * validation fails start-up on an edited applied migration.
     */
    private void migrate() {
        long started = System.nanoTime();
        Optional<String> difference = SchemaHistory.difference(dataSource, Database.class.getClassLoader());
        if (difference.isEmpty()) {
            schemaCheckedByFlyway = false;
            LOG.info("Schema verified in {} ms: every migration of this build applied, checksums match", (System.nanoTime() - started) / 1_000_000);
            return;
        }
        LOG.info("Schema history differs from this build's migrations ({}): running Flyway", difference.get());
        schemaCheckedByFlyway = true;
        var result = Flyway.configure()
                .dataSource(dataSource)
                .locations("classpath:db/migration")
                .outOfOrder(true)
                .load()
                .migrate();
        if (result.migrationsExecuted > 0) {
            LOG.info("Applied {} database migrations, schema now at version {}", result.migrationsExecuted, result.targetSchemaVersion);
        }
        LOG.info("Flyway done in {} ms", (System.nanoTime() - started) / 1_000_000);
    }

    /** True when this start ran Flyway (the schema history differed from this build's migrations), false when it was skipped. */
    public boolean schemaCheckedByFlyway() {
        return schemaCheckedByFlyway;
    }

    public Jdbi jdbi() {
        return requireNonNull(jdbi, "database not started");
    }

    /**
     * Connections whose commits do not wait for the WAL flush. Only for writes whose loss in
     * a database crash is harmless and that a later synchronous commit makes durable anyway
     * (WAL is flushed in order): budget reservations. Never for anything told to a client.
     */
    public DataSource asyncCommitDataSource() {
        return requireNonNull(asyncCommitSource, "database not started");
    }

    public DataSource dataSource() {
        return requireNonNull(dataSource, "database not started");
    }

    /**
     * The node's one {@code LISTEN} connection (started on first use, closed with the
     * database), for caches that must hear about changes committed by any node.
     */
    public synchronized Notifications notifications() {
        if (notifications == null) {
            HikariDataSource pool = (HikariDataSource) dataSource();
            notifications = new Notifications(() -> java.sql.DriverManager.getConnection(pool.getJdbcUrl(), pool.getUsername(),
                    pool.getPassword())).start();
        }
        return notifications;
    }

    /** True when the store answers a trivial query; for {@code /readyz}. */
    public boolean isReady() {
        try {
            return jdbi().withHandle(handle -> handle.createQuery("SELECT 1").mapTo(Integer.class).one()) == 1;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * For a process that closes this store from its own shutdown hook: the embedded PostgreSQL then
     * stops at JVM exit only after that close, so the last commits of a graceful shutdown reach it.
     */
    public void stopEmbeddedAfterCloseAtExit() {
        if (embedded != null) {
            embedded.stopAfterOwnerAtExit();
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (notifications != null) {
                notifications.close();
            }
        }
        if (asyncCommitSource != null) {
            asyncCommitSource.close();
        }
        if (dataSource != null) {
            dataSource.close();
        }
        if (embedded != null) {
            embedded.close();
        }
    }
}
