package io.somastack.agents;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Money;
import io.somastack.metering.Price;
import io.somastack.metering.Reservation;
import io.somastack.metering.UsageRecord;
import io.somastack.models.FixtureReply;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Budgets a run can never exceed, and runs a dead node left behind, settled once. */
class BudgetAndCrashTest {
    private static TestAgents soma;
    private static TestAgents.Client acme;

    @BeforeAll
    static void start() {
        soma = new TestAgents(AgentsConfig.defaults().withLimits(50, 50, Duration.ofMinutes(1)).withLiveness(Duration.ofMillis(200),
                Duration.ofSeconds(1)));
        acme = soma.tenant("acme", Optional.of(Money.of("0.012")));
        // A step's worst case is its prompt and 1024 output tokens at $1 per million: a run of 0.0025 has room for a few steps.
        soma.publishAndInstall(acme, "acme-tight", TestAgents.agentBundle("acme", "acme-tight", "1.0.0", TestAgents.MODEL, true, List.of(),
                "0.0025", ""));
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    @Test
    void aRunStopsBeforeItsNextStepCouldPassTheCapsulesBudgetPerRun() {
        int before = soma.openAi.requests().size();
        for (int index = 0; index < 40; index++) {
            soma.openAi.enqueue(new FixtureReply.ToolUse("transform", "{\"text\":\"%s\"}".formatted("x".repeat(200)), 60, 5));
        }

        JsonNode run = soma.run(acme.apiKey(), "acme-tight", "{\"input\": \"spend\"}").json();
        // Take the replies the run did not use off the fixture, so the next test gets its own.
        for (int left = 40 - (soma.openAi.requests().size() - before); left > 0; left--) {
            soma.router.complete(io.somastack.models.ChatRequest.of(TestAgents.MODEL, List.of(io.somastack.models.ChatMessage.of("user", "drain"))));
        }

        assertThat(run.get("status").asString()).isEqualTo("failed");
        assertThat(run.get("reason").asString()).isEqualTo("budget");
        assertThat(run.get("usage").get("steps").asInt()).isGreaterThan(1);
        Money spent = soma.sum("SELECT COALESCE(sum(cost), 0) FROM usage_ledger WHERE request_id = '%s'".formatted(run.get("id").asString()));
        assertThat(spent).isEqualTo(Money.of(run.get("cost").asString()));
        assertThat(spent.compareTo(Money.of("0.0025"))).isLessThanOrEqualTo(0);
    }

    @Test
    void fiftyParallelRunsNeverExceedTheTenantsBudget() throws Exception {
        List<Future<TestGateway.Response>> runs = new ArrayList<>();
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int index = 0; index < 50; index++) {
                runs.add(clients.submit(() -> soma.run(acme.apiKey(), "acme-tight", "{\"input\": \"hello\"}")));
            }
        }
        int completed = 0;
        for (Future<TestGateway.Response> run : runs) {
            TestGateway.Response response = run.get();
            assertThat(response.status()).as(response.raw().body()).isIn(200, 402);
            if (response.status() == 200) {
                completed++;
                assertThat(Money.of(response.json().get("cost").asString()).compareTo(Money.of("0.0025"))).isLessThanOrEqualTo(0);
            }
        }
        assertThat(completed).isGreaterThan(0);
        assertThat(soma.sum("SELECT COALESCE(sum(spent), 0) FROM budget_spend WHERE scope = 'tenant'").compareTo(Money.of("0.012")))
                .isLessThanOrEqualTo(0);
        assertThat(soma.sum("SELECT COALESCE(sum(reserved), 0) FROM budget_spend WHERE scope = 'tenant'")).isEqualTo(Money.ZERO);
    }

    @Test
    void aRunWhoseNodeDiedIsInterruptedAndSettledOnceFromTheLedger() {
        // A run another node started: its reservation held, one model call in the ledger, then the node stopped beating.
        UUID runId = soma.ids.next();
        var tenant = acme.tenant().id();
        Reservation reservation = soma.budgets.reserve(tenant, UUID.randomUUID(), acme.tenant().monthlyBudget(), Optional.empty(), Money.of("0.0012"));
        Instant long_ago = Instant.now().minusSeconds(60);
        soma.database.jdbi().useHandle(handle -> handle.createUpdate("""
                INSERT INTO agent_runs (id, tenant_id, agent, version, digest, status, input, budget, reservation_id, reservation_scopes,
                    reservation_period, reservation_amount, key_id, actor, request_id, node, heartbeat_at, created_at)
                VALUES (:id, :tenant, 'acme-tight', '1.0.0', 'sha256:x', 'running', 'hi', 0.0012, :reservation, :scopes, :period, :amount,
                    :key, 'key:x', 'req', 'node-dead', :at, :at)""")
                .bind("id", runId).bind("tenant", tenant.value()).bind("reservation", reservation.id())
                .bind("scopes", reservation.scopes().toArray(String[]::new)).bind("period", reservation.period())
                .bind("amount", reservation.amount().amount()).bind("key", UUID.randomUUID()).bind("at", Timestamp.from(long_ago)).execute());
        soma.database.jdbi().useHandle(handle -> handle.createUpdate("""
                INSERT INTO agent_run_events (run_id, seq, tenant_id, type, data, at) VALUES (:id, 1, :tenant, 'run.started', '{}', :at)""")
                .bind("id", runId).bind("tenant", tenant.value()).bind("at", Timestamp.from(long_ago)).execute());
        soma.commit.execute(tx -> soma.ledger.record(tx, new UsageRecord(tenant, UUID.randomUUID(), runId.toString(), Optional.empty(),
                TestAgents.MODEL, "openai", "gpt-4o-mini", 100, 100, false, new Price("gpt-4o-mini", Money.of("1"), Money.of("1"), Instant.EPOCH)),
                reservation.id()));
        Money spentBefore = soma.sum("SELECT COALESCE(sum(spent), 0) FROM budget_spend WHERE scope = 'tenant'");

        int swept = soma.agents.sweep();
        int again = soma.agents.sweep();

        assertThat(swept).isEqualTo(1);
        assertThat(again).isZero();
        JsonNode run = soma.gateway.send("GET", "/v1/runs/" + runId, acme.apiKey(), null).json();
        assertThat(run.get("status").asString()).isEqualTo("interrupted");
        assertThat(Money.of(run.get("cost").asString())).isEqualTo(Money.of("0.0002"));
        List<TestAgents.Sse> events = soma.events(soma.request("/v1/runs/%s/events".formatted(runId), acme.apiKey()).GET().build(), 10);
        assertThat(events).extracting(TestAgents.Sse::event).containsExactly("run.started", "run.interrupted");
        assertThat(events.getLast().id()).isEqualTo(2);
        assertThat(soma.sum("SELECT COALESCE(sum(spent), 0) FROM budget_spend WHERE scope = 'tenant'")).isEqualTo(spentBefore.plus(Money.of("0.0002")));
        assertThat(soma.count("SELECT count(*) FROM budget_reservations WHERE id = '%s'".formatted(reservation.id()))).isZero();
    }

    @Test
    void aLiveRunIsKeptAliveByItsHeartbeat() throws Exception {
        soma.openAi.enqueue(new FixtureReply.SlowText(60, Duration.ofMillis(40)));
        String runId = soma.run(acme.apiKey(), "acme-tight", "{\"input\": \"slow\"}", "Accept", "text/event-stream").raw().headers()
                .firstValue("Location").orElseThrow().substring("/v1/runs/".length());
        // The stream above ran to the end: longer than the stale limit, and the sweeper never touched it.
        assertThat(soma.agents.sweep()).isZero();
        assertThat(soma.gateway.send("GET", "/v1/runs/" + runId, acme.apiKey(), null).json().get("status").asString()).isEqualTo("completed");
    }
}
