package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Budget leases per node, two nodes on one PostgreSQL: each node holds calls in memory against its
 * own slice of a tenant's budget, and yet the tenant is never charged a cent more than its limit or
 * other than what its answers said they cost; a node that stops renewing has its lease settled from
 * the ledger by the other node's sweeper.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BudgetLeasesAcrossNodesTest {
    // BudgetConcurrencyTest's prices and calls (worst case ~0.036 USD). Leases stay until their node stops (idle 1m), so the
    // test sees them; a lease not renewed for 15 s expires.
    private static final String CONFIG = BudgetConcurrencyTest.CONFIG + """
            budgets:
              leases:
                idle: 1m
            """;

    private static TestServer first;
    private static TestServer second;
    private static Jdbi jdbi;

    @BeforeAll
    static void start() {
        first = TestServer.start(CONFIG);
        second = TestServer.start(CONFIG, first.databaseUrl);
        jdbi = Jdbi.create(first.databaseUrl, "postgres", "");
    }

    @AfterAll
    static void stop() {
        // null when start() was skipped because the test model is absent
        if (second != null) {
            second.close();
        }
        if (first != null) {
            first.close();
        }
    }

    @Test
    @Order(1)
    void aNodeThatStopsRenewingHasItsLeaseSettledFromTheLedgerByAnotherNode() throws Exception {
        String tenant = first.tenant("stalled-co", ",\"monthly_budget\":\"100.00\"");
        String key = first.key(tenant, "{}");
        List<TestServer.Response> answers = BudgetConcurrencyTest.chatInParallel(List.of(second), key, 10, "stalled-");
        assertThat(answers).allSatisfy(answer -> assertThat(answer.status()).isEqualTo(200));
        UUID node = second.server.metering().leases().orElseThrow().nodeId();
        assertThat(count("SELECT count(*) FROM budget_leases WHERE tenant_id = CAST(:tenant AS uuid) AND node_id = '" + node + "'", tenant))
                .as("the second node leased the tenant's budget").isPositive();
        BigDecimal billed = costs(answers);
        assertThat(sum("SELECT spent FROM budget_spend WHERE tenant_id = CAST(:tenant AS uuid)", tenant))
                .as("the calls of the lease it holds are not charged yet").isLessThan(billed);

        // The second node stops renewing (it died, or stalled past the lease's TTL): its lease expires.
        jdbi.useHandle(handle -> handle.createUpdate("UPDATE budget_leases SET expires_at = now() - interval '1 minute' WHERE node_id = :node")
                .bind("node", node).execute());
        assertThat(first.server.metering().sweep()).isPositive();

        assertThat(count("SELECT count(*) FROM budget_leases WHERE tenant_id = CAST(:tenant AS uuid)", tenant)).isZero();
        assertThat(sum("SELECT COALESCE(sum(cost), 0) FROM usage_ledger WHERE tenant_id = CAST(:tenant AS uuid)", tenant))
                .isEqualByComparingTo(billed);
        assertThat(sum("SELECT spent FROM budget_spend WHERE tenant_id = CAST(:tenant AS uuid)", tenant)).isEqualByComparingTo(billed);
        assertThat(sum("SELECT reserved FROM budget_spend WHERE tenant_id = CAST(:tenant AS uuid)", tenant)).isZero();
    }

    @Test
    @Order(2)
    void twoNodesSharingOneBudgetNeverOverspendAndChargeExactlyWhatTheirAnswersCost() throws Exception {
        String tenant = first.tenant("shared-co", ",\"monthly_budget\":\"0.72\"");
        String key = first.key(tenant, "{}");

        List<TestServer.Response> responses = BudgetConcurrencyTest.chatInParallel(List.of(first, second), key, 200, "shared-");

        List<TestServer.Response> admitted = responses.stream().filter(response -> response.status() == 200).toList();
        long refused = responses.stream().filter(response -> response.status() == 402).count();
        assertThat(admitted.size() + refused).isEqualTo(200);
        assertThat(admitted).isNotEmpty();
        BigDecimal billed = costs(admitted);
        assertThat(sum("SELECT COALESCE(sum(cost), 0) FROM usage_ledger WHERE tenant_id = CAST(:tenant AS uuid)", tenant))
                .isEqualByComparingTo(billed);
        // Calls were held against leases: several ledger rows name the same one.
        assertThat(count("SELECT count(DISTINCT reservation_id) FROM usage_ledger WHERE tenant_id = CAST(:tenant AS uuid) AND meter = 'model.tokens'",
                tenant)).isLessThan(admitted.size());
        assertThat(sum("SELECT spent + reserved FROM budget_spend WHERE tenant_id = CAST(:tenant AS uuid)", tenant))
                .isLessThanOrEqualTo(new BigDecimal("0.72"));

        // Both nodes stop and give back what they leased.
        second.close();
        first.close();

        assertThat(sum("SELECT spent FROM budget_spend WHERE tenant_id = CAST(:tenant AS uuid)", tenant))
                .isLessThanOrEqualTo(new BigDecimal("0.72")).isEqualByComparingTo(billed);
        BigDecimal reserved = jdbi.withHandle(handle -> handle.createQuery("SELECT COALESCE(sum(reserved), 0) FROM budget_spend")
                .mapTo(BigDecimal.class).one());
        assertThat(reserved).as("nothing reserved by anyone").isZero();
        long open = jdbi.withHandle(handle -> handle.createQuery("SELECT (SELECT count(*) FROM budget_leases) + (SELECT count(*) FROM budget_reservations)")
                .mapTo(Long.class).one());
        assertThat(open).as("no lease or reservation left").isZero();
    }

    private static BigDecimal costs(List<TestServer.Response> answers) {
        return answers.stream().map(answer -> new BigDecimal(answer.header("X-Soma-Cost"))).reduce(BigDecimal.ZERO, BigDecimal::add);
    }

    private static BigDecimal sum(String sql, String tenant) {
        return jdbi.withHandle(handle -> handle.createQuery(sql).bind("tenant", tenant).mapTo(BigDecimal.class).one());
    }

    private static long count(String sql, String tenant) {
        return jdbi.withHandle(handle -> handle.createQuery(sql).bind("tenant", tenant).mapTo(Long.class).one());
    }
}
