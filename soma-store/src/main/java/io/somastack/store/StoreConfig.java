package io.somastack.store;

import io.somastack.kernel.Settings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Where the relational store lives. Without {@code databaseUrl} SomaStack runs an embedded
 * PostgreSQL in {@code dataDirectory}/postgres with fsync and synchronous commit on.
 *
 * @param databaseUrl JDBC URL of an external PostgreSQL 15+ ({@code SOMA_DATABASE_URL}); user and
 *     password may be in the URL or in {@code databaseUser}/{@code databasePassword}
 * @param poolSize connections in the pool
 * @param commitBatchSize most work items one group commit puts in one transaction
 * @param auditCheckpointInterval how often a signed checkpoint of the audit log's head is made
 *     when the log grew ({@code audit.checkpoint.interval}, default 1m; 0s: only on demand)
 */
public record StoreConfig(
        Optional<String> databaseUrl,
        Optional<String> databaseUser,
        Optional<String> databasePassword,
        Path dataDirectory,
        int poolSize,
        int commitBatchSize,
        Duration connectTimeout,
        Duration auditCheckpointInterval) {

    public StoreConfig(Optional<String> databaseUrl, Optional<String> databaseUser, Optional<String> databasePassword,
            Path dataDirectory, int poolSize, int commitBatchSize, Duration connectTimeout) {
        this(databaseUrl, databaseUser, databasePassword, dataDirectory, poolSize, commitBatchSize, connectTimeout,
                AuditCheckpoints.DEFAULT_INTERVAL);
    }

    public StoreConfig {
        dataDirectory = dataDirectory.toAbsolutePath().normalize();
        if (databaseUrl.isPresent() && !databaseUrl.get().startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException("database.url must start with jdbc:postgresql:");
        }
        if (auditCheckpointInterval.isNegative()) {
            throw new IllegalArgumentException("audit.checkpoint.interval must not be negative");
        }
    }

    public static StoreConfig from(Settings settings, Path dataDirectory) {
        Optional<String> url = settings.string("database.url");
        if (url.isPresent() && url.get().startsWith("postgres")) {
            url = Optional.of("jdbc:" + url.get().replaceFirst("^postgres(ql)?:", "postgresql:"));
        }
        if (url.isPresent() && !url.get().startsWith("jdbc:postgresql:")) {
            settings.problem("database.url='%s' must be a jdbc:postgresql: or postgresql: URL".formatted(url.get()));
            url = Optional.empty();
        }
        Duration checkpointInterval = settings.duration("audit.checkpoint.interval", AuditCheckpoints.DEFAULT_INTERVAL);
        if (checkpointInterval.isNegative()) {
            settings.problem("audit.checkpoint.interval='%s' must not be negative (0s: checkpoints only on demand)".formatted(checkpointInterval));
            checkpointInterval = AuditCheckpoints.DEFAULT_INTERVAL;
        }
        return new StoreConfig(
                url,
                settings.string("database.user"),
                settings.string("database.password"),
                dataDirectory,
                settings.integer("database.pool.size", 16, 2, 500),
                settings.integer("database.commit.batch", 256, 1, 10_000),
                settings.duration("database.connect.timeout", Duration.ofSeconds(10)),
                checkpointInterval);
    }

    public static StoreConfig embedded(Path dataDirectory) {
        return new StoreConfig(Optional.empty(), Optional.empty(), Optional.empty(), dataDirectory, 16, 256, Duration.ofSeconds(10));
    }

    /** The URL with any password hidden, for the start-up log. */
    public String describe() {
        return databaseUrl.map(url -> "external " + url.replaceAll("password=[^&]*", "password=***"))
                .orElse("embedded PostgreSQL in " + dataDirectory.resolve("postgres"));
    }
}
