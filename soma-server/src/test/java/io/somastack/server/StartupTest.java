package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.SomaException;
import io.somastack.store.Database;
import io.somastack.store.StoreConfig;
import io.somastack.store.TestDatabase;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
    void aWarmUpServesTheChatRouteBeforeReadyAndLeavesNoTraceInTheLedgerAuditOrMetrics() throws Exception {
        try (TestServer server = TestServer.start("warmup: 2s\n")) {
            WarmUp.Outcome warm = server.server.warmUp().orElseThrow();
            assertThat(warm.took()).isGreaterThanOrEqualTo(Duration.ofSeconds(2));
            assertThat(warm.requests()).isGreaterThan(50);
            assertThat(warm.unexpected()).isZero();
            assertThat(warm.stoppedByExit()).isFalse();
            assertThat(server.get("/readyz", null).status()).isEqualTo(200);
            // Unknown keys are no tenants: not one audit entry, ledger row or event.
            try (Connection connection = DriverManager.getConnection(server.databaseUrl, "postgres", "");
                    Statement statement = connection.createStatement();
                    ResultSet rows = statement.executeQuery("SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM usage_ledger), "
                            + "(SELECT count(*) FROM outbox)")) {
                assertThat(rows.next()).isTrue();
                assertThat(List.of(rows.getLong(1), rows.getLong(2), rows.getLong(3))).containsExactly(0L, 0L, 0L);
            }
            // The warm-up's thousands of 401s are not in the request metrics; a stranger's 401, secret header or not, is.
            assertThat(chatUnauthorizedCount(server)).isEmpty();
            String chat = "{\"model\":\"local\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
            TestServer.assertProblem(server.post(WarmUp.PATH, "sk-soma-not-a-key", chat), 401, null);
            TestServer.assertProblem(server.post(WarmUp.PATH, "sk-soma-not-a-key", chat, "X-Soma-Warm-Up", "a-guess"), 401, null);
            assertThat(chatUnauthorizedCount(server)).contains("2");
        }
    }

    /**
     * SomaStack as {@code somastack run} starts it, in its own JVM on the embedded defaults: a
     * SIGTERM while it warms up (a rolling update giving up on the node) ends the start. It never
     * says ready, closes what it built in order, and exits with SIGTERM's code.
     */
    @Test
    void aSigtermDuringTheWarmUpEndsTheStartWithoutEverBeingReady() throws Exception {
        ServerProcess.Launched launched = ServerProcess.launch("soma-warmup-exit", Map.of("SOMA_WARMUP", "5m"));
        Process server = launched.process();
        try {
            String detail = launched.awaitReadyz(answer -> answer.body().contains("Warming up")).body();
            assertThat(detail).as("/readyz while warming up").contains("\"status\":503").contains("Warming up (300 s, the warmup setting)");

            server.destroy();
            assertThat(server.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("the server stops within 60 s").isTrue();
        } finally {
            server.destroyForcibly();
        }
        assertThat(server.exitValue()).isEqualTo(143);
        String output = Files.readString(launched.log());
        assertThat(output).contains("Stopped HTTP server").contains("Stopped Database").doesNotContain("SomaStack is ready").doesNotContain("Shutdown in progress");
    }

    /** The {@code http.server.requests} count of the chat route's 401 answers, when there is one. */
    private static Optional<String> chatUnauthorizedCount(TestServer server) {
        TestServer.Response metrics = server.get("/metrics", TestServer.ADMIN_KEY);
        assertThat(metrics.status()).isEqualTo(200);
        return metrics.body().lines()
                .filter(line -> line.startsWith("http_server_requests_seconds_count{") && line.contains("route=\"" + WarmUp.PATH + "\"")
                        && line.contains("status=\"401\""))
                .map(line -> line.substring(line.lastIndexOf(' ') + 1)).findFirst();
    }

    @Test
    void answersReadyOnceEveryPartStarted() throws Exception {
        try (TestServer server = TestServer.start("")) {
            assertThat(server.get("/readyz", null).status()).isEqualTo(200);
        }
    }
}
