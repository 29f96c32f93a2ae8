package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.TenantId;
import java.time.YearMonth;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Every ledger row is written with its billing event; reconciliation reports a row whose event was deleted. */
class ReconciliationTest {
    private static BillingHarness billing;
    private static Reconciliation reconciliation;

    @BeforeAll
    static void start() {
        billing = new BillingHarness(Map.of());
        reconciliation = new Reconciliation(billing.database.jdbi());
    }

    @AfterAll
    static void stop() {
        if (billing != null) {
            billing.close();
        }
    }

    @Test
    void aDeletedBillingEventIsReportedAsAMissingEvent() {
        billing.at("2026-02-10T00:00:00Z");
        billing.gateway.tenantKey("reconciled", "invoices:read");
        TenantId tenant = billing.tenantOf("reconciled");
        Ledger.Entry kept = billing.call(tenant, "m", 1000, 2000, "1", "2");
        Ledger.Entry lost = billing.call(tenant, "m", 3000, 4000, "1", "2");
        billing.at("2026-03-01T02:00:00Z");
        billing.invoicing.close(YearMonth.of(2026, 2), true, "test", "req");
        assertThat(reconciliation.differences(YearMonth.of(2026, 2))).isEmpty();

        billing.database.jdbi().useHandle(handle -> handle.createUpdate("DELETE FROM outbox WHERE subject = :id")
                .bind("id", lost.id().toString()).execute());
        assertThat(reconciliation.differences(YearMonth.of(2026, 2))).singleElement().satisfies(difference -> {
            assertThat(difference.kind()).isEqualTo(Reconciliation.Kind.MISSING_EVENT);
            assertThat(difference.ledgerId()).contains(lost.id());
            assertThat(difference.tenantId()).isEqualTo(tenant.value());
        });
        assertThat(reconciliation.lastDifferences()).isEqualTo(1);
        assertThat(kept.id()).isNotEqualTo(lost.id());

        billing.database.jdbi().useHandle(handle -> handle.createUpdate(
                "UPDATE outbox SET data = jsonb_set(data, '{cost}', '\"99\"') WHERE subject = :id").bind("id", kept.id().toString()).execute());
        assertThat(reconciliation.differences(YearMonth.of(2026, 2))).extracting(Reconciliation.Difference::kind)
                .containsExactlyInAnyOrder(Reconciliation.Kind.MISSING_EVENT, Reconciliation.Kind.AMOUNT_DIFFERS);
    }

    @Test
    void theOperatorRouteListsEveryDifference() {
        TestGateway.Response response = billing.gateway.send("GET", "/v1/admin/reconciliation?period=2025-07", billing.gateway.operatorKey(), null);
        assertThat(response.status()).as(response.raw().body()).isEqualTo(200);
        JsonNode body = response.json();
        assertThat(body.get("balanced").asBoolean()).isTrue();
        assertThat(billing.gateway.send("GET", "/v1/admin/reconciliation?period=July", billing.gateway.operatorKey(), null).status())
                .isEqualTo(400);
    }
}
