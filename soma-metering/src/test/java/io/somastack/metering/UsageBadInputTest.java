package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.TestDatabase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code GET /v1/usage} refuses instants it cannot represent with a 400 naming the parameter, never a 500. */
class UsageBadInputTest {
    private static Database database;
    private static GroupCommit commit;
    private static TestGateway gateway;
    private static String key;

    @BeforeAll
    static void start() {
        Clock clock = Clock.system();
        Ids ids = new Ids(clock);
        database = TestDatabase.create();
        commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 16, 1);
        Ledger ledger = new Ledger(database.jdbi(), clock, ids);
        gateway = new TestGateway(database, commit, clock, ids, new SimpleMeterRegistry(), guard -> new UsageRoutes(guard, ledger, clock));
        key = gateway.tenantKey("acme", "usage:read");
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (commit != null) {
            commit.close();
        }
        if (database != null) {
            database.close();
        }
    }

    private static void assertBadInput(String query, String... named) {
        TestGateway.Response response = gateway.send("GET", "/v1/usage?" + query, key, null);
        assertThat(response.status()).as(response.raw().body()).isEqualTo(400);
        assertThat(response.header("Content-Type")).startsWith("application/problem+json");
        assertThat(response.json().get("type").asString()).isIn("https://somastack.io/problems/invalid-request",
                "https://somastack.io/problems/value-out-of-range");
        assertThat(response.json().get("detail").asString()).contains(named).doesNotContainIgnoringCase("overflow");
    }

    @Test
    void instantsOutsideTheYears0001To9999AreRefusedNamingTheParameter() {
        assertBadInput("from=-999999999-01-01T00:00:00Z", "'from'", "0001 to 9999");
        assertBadInput("to=%2B999999999-12-31T23:59:59Z", "'to'", "0001 to 9999");
        assertBadInput("from=-0001-01-01T00:00:00Z&to=2026-01-01", "'from'", "0001 to 9999");
        assertBadInput("from=2026-01-01&to=%2B10000-01-01T00:00:00Z", "'to'", "0001 to 9999");
        assertBadInput("from=0000-12-31", "'from'", "0001 to 9999");
        assertBadInput("from=yesterday", "'from'", "'yesterday'");
        assertBadInput("to=2026-01-01%00", "'to'", "NUL");
    }

    @Test
    void theFirstAndLastSupportedInstantsAreAnswered() {
        TestGateway.Response response = gateway.send("GET", "/v1/usage?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z", key, null);
        assertThat(response.status()).as(response.raw().body()).isEqualTo(200);
        assertThat(response.json().get("from").asString()).isEqualTo("0001-01-01T00:00:00Z");
        assertThat(response.json().get("total_cost").asString()).isEqualTo("0.00");
    }
}
