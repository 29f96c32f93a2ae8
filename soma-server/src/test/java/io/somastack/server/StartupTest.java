package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.SomaException;
import io.somastack.store.Database;
import io.somastack.store.StoreConfig;
import io.somastack.store.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Start-up with every module on the class path: the schema check, the parts started in parallel, readiness. */
class StartupTest {

    @Test
    void aSecondStartSkipsFlywayForTheMigrationsOfEveryModule() {
        StoreConfig config = new StoreConfig(Optional.of(TestDatabase.newDatabaseUrl()), Optional.of("postgres"), Optional.empty(),
                Path.of("target"), 4, 256, Duration.ofSeconds(10));
        try (Database first = new Database(config).start()) {
            assertThat(first.schemaCheckedByFlyway()).isTrue();
        }
        // Every module's list names every script Flyway applied, and each checksum matches Flyway's.
        try (Database second = new Database(config).start()) {
            assertThat(second.schemaCheckedByFlyway()).isFalse();
        }
    }

    @Test
    void aPartThatFailsFailsStartUpWithItsOwnMessage() throws Exception {
        Path notADirectory = Files.createTempFile("soma-startup", ".txt");
        String yaml = "memory:\n  index:\n    directory: " + notADirectory.resolve("index") + "\n";
        assertThatThrownBy(() -> TestServer.start(yaml))
                .isInstanceOf(SomaException.class)
                .hasMessageContaining("Cannot open the memory index in " + notADirectory.resolve("index"));
    }

    @Test
    void answersReadyOnceEveryPartStarted() throws Exception {
        try (TestServer server = TestServer.start("")) {
            assertThat(server.get("/readyz", null).status()).isEqualTo(200);
        }
    }
}
