package io.somastack.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A start skips Flyway only when the schema history holds every migration with its script's checksum. */
class SchemaCheckTest {
    private final StoreConfig config = new StoreConfig(Optional.of(TestDatabase.newDatabaseUrl()), Optional.of("postgres"), Optional.empty(),
            Path.of("target"), 4, 256, Duration.ofSeconds(10));

    @Test
    void skipsFlywayOnceEveryMigrationIsAppliedWithItsChecksum() {
        try (Database first = new Database(config).start()) {
            assertThat(first.schemaCheckedByFlyway()).as("a new database is migrated by Flyway").isTrue();
        }
        try (Database second = new Database(config).start()) {
            assertThat(second.schemaCheckedByFlyway()).as("the history is complete and every checksum matches").isFalse();
            assertThat(second.isReady()).isTrue();
        }
    }

    @Test
    void anEditedAppliedMigrationStillFailsStartUpThroughFlywaysValidation() throws SQLException {
        try (Database first = new Database(config).start();
                Connection connection = first.dataSource().getConnection();
                Statement statement = connection.createStatement()) {
            // What an edit of V1_1 after it was applied looks like: its checksum no longer matches the history.
            assertThat(statement.executeUpdate("UPDATE flyway_schema_history SET checksum = checksum + 1 WHERE version = '1.1'")).isEqualTo(1);
        }
        Database tampered = new Database(config);
        try {
            assertThatThrownBy(tampered::start)
                    .hasMessageContaining("checksum mismatch")
                    .hasMessageContaining("1.1");
        } finally {
            tampered.close();
        }
    }
}
