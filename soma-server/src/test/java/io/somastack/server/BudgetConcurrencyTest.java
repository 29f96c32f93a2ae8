package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** 200 parallel calls against a budget that fits about 20: never a cent over, nothing lost. */
class BudgetConcurrencyTest {
    // Worst case per call: about 20 prompt tokens + 16 output tokens at 1,000 USD per million = ~0.036 USD.
    static final String CONFIG = """
            prices:
              - model: local
                input_per_million: "1000"
                output_per_million: "1000"
            tiers:
              standard:
                rpm: 100000
            """;
    static final String BODY = """
            {"model":"local","messages":[{"role":"user","content":"Once upon a time there was a cat"}],"max_tokens":16}""";

    private static TestServer soma;

    @BeforeAll
    static void start() {
        soma = TestServer.start(CONFIG);
    }

    @AfterAll
    static void stop() {
        // null when start() was skipped because the test model is absent
        if (soma != null) {
            soma.close();
        }
    }

    @Test
    void parallelCallsNeverOverspendAndEveryAdmittedCallIsInTheLedgerOnce() throws Exception {
        String tenant = soma.tenant("budget-co", ",\"monthly_budget\":\"0.72\"");
        String key = soma.key(tenant, "{}");
        List<TestServer.Response> responses = chatInParallel(List.of(soma), key, 200, "budget-");

        List<TestServer.Response> admitted = responses.stream().filter(response -> response.status() == 200).toList();
        List<TestServer.Response> refused = responses.stream().filter(response -> response.status() == 402).toList();
        assertThat(admitted.size() + refused.size()).isEqualTo(200);
        assertThat(admitted.size()).isBetween(15, 40);
        assertThat(refused.getFirst().json().get("remaining").asString()).isNotBlank();

        Jdbi jdbi = Jdbi.create(soma.databaseUrl, "postgres", "");
        BigDecimal spent = jdbi.withHandle(handle -> handle.createQuery(
                "SELECT COALESCE(sum(cost), 0) FROM usage_ledger WHERE tenant_id = CAST(:tenant AS uuid)")
                .bind("tenant", tenant).mapTo(BigDecimal.class).one());
        assertThat(spent).isLessThanOrEqualTo(new BigDecimal("0.72"));
        // The model calls' rows (each answer also has an unpriced egress row under its request id).
        List<String> ledgerRequestIds = jdbi.withHandle(handle -> handle.createQuery(
                "SELECT request_id FROM usage_ledger WHERE tenant_id = CAST(:tenant AS uuid) AND meter = 'model.tokens'").bind("tenant", tenant).mapTo(String.class).list());
        List<String> admittedIds = admitted.stream().map(response -> response.header("X-Request-Id")).toList();
        assertThat(ledgerRequestIds).doesNotHaveDuplicates().containsAll(admittedIds);
        assertThat(ledgerRequestIds).hasSameSizeAs(admittedIds);
        BigDecimal billed = admitted.stream().map(response -> new BigDecimal(response.header("X-Soma-Cost")))
                .reduce(BigDecimal.ZERO, BigDecimal::add);
        assertThat(spent).isEqualByComparingTo(billed);
        BigDecimal held = jdbi.withHandle(handle -> handle.createQuery(
                "SELECT COALESCE(sum(spent + reserved), 0) FROM budget_spend WHERE tenant_id = CAST(:tenant AS uuid)")
                .bind("tenant", tenant).mapTo(BigDecimal.class).one());
        assertThat(held).isLessThanOrEqualTo(new BigDecimal("0.72"));
        // What the node still leases goes back once idle (budgets.leases.idle, 2 s): then nothing is reserved and the
        // budget's spend is what the answers cost.
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        BigDecimal reserved;
        do {
            Thread.sleep(100);
            reserved = jdbi.withHandle(handle -> handle.createQuery(
                    "SELECT COALESCE(sum(reserved), 0) FROM budget_spend WHERE tenant_id = CAST(:tenant AS uuid)")
                    .bind("tenant", tenant).mapTo(BigDecimal.class).one());
        } while (reserved.signum() != 0 && System.nanoTime() < deadline);
        assertThat(reserved).as("no reservation or lease left open").isEqualByComparingTo(BigDecimal.ZERO);
        BigDecimal charged = jdbi.withHandle(handle -> handle.createQuery(
                "SELECT COALESCE(sum(spent), 0) FROM budget_spend WHERE tenant_id = CAST(:tenant AS uuid)")
                .bind("tenant", tenant).mapTo(BigDecimal.class).one());
        assertThat(charged).as("the budget's spend is what the answers cost").isEqualByComparingTo(billed);
    }

    /**
     * {@code calls} parallel chat calls of {@link #BODY}, spread over {@code nodes} in turn, request ids {@code prefix}0, 1, ...
     * As a production client does: every call carries an Idempotency-Key, and a call whose connection dropped before an
     * answer is sent again with the same key. On a saturated machine the JDK client sometimes reports a pooled connection
     * closed without an answer; the retry must then get the first attempt's outcome, never a second charge.
     */
    static List<TestServer.Response> chatInParallel(List<TestServer> nodes, String key, int calls, String prefix) throws Exception {
        List<TestServer.Response> responses = new ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger retries = new java.util.concurrent.atomic.AtomicInteger();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<TestServer.Response>> futures = new ArrayList<>();
            for (int i = 0; i < calls; i++) {
                String requestId = prefix + i;
                TestServer node = nodes.get(i % nodes.size());
                futures.add(pool.submit(() -> {
                    for (int attempt = 1; ; attempt++) {
                        try {
                            return node.post("/v1/chat/completions", key, BODY, "X-Request-Id", requestId, "Idempotency-Key", requestId);
                        } catch (java.io.UncheckedIOException e) {
                            if (attempt == 5) {
                                throw e;
                            }
                            retries.incrementAndGet();
                        }
                    }
                }));
            }
            for (Future<TestServer.Response> future : futures) {
                responses.add(future.get());
            }
        }
        System.out.printf("%s: %d calls were sent again after a dropped connection%n", prefix, retries.get());
        return responses;
    }
}
