package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.time.Duration;
import java.time.YearMonth;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Egress bytes on calls' ledger rows become the egress line in GB, priced by the catalog, and the invoice still equals the ledger. */
class EgressTest {
    private static BillingHarness billing;

    @BeforeAll
    static void start() {
        billing = new BillingHarness(Map.of());
    }

    @AfterAll
    static void stop() {
        if (billing != null) {
            billing.close();
        }
    }

    @Test
    void egressBytesOfThePeriodsCallsArePricedPerGigabyte() {
        billing.at("2026-05-01T00:00:00Z");
        assertThat(billing.operatorPost("/v1/admin/prices", "{\"sku\": \"egress\", \"unit_price\": \"0.09\", \"effective_from\": \"2026-05\"}")
                .status()).isEqualTo(201);
        billing.gateway.tenantKey("egress-heavy", "invoices:read");
        TenantId tenant = billing.tenantOf("egress-heavy");
        billing.at("2026-05-12T00:00:00Z");
        for (long bytes : new long[] {1_500_000_000L, 500_000_001L}) {
            billing.commit.execute(tx -> {
                Ledger.Entry call = billing.ledger.recordToolCall(tx, tenant, UUID.randomUUID(), "req", "capsule", "fetch", "http",
                        Duration.ofMillis(5), "completed", Money.of("0.001"), null);
                billing.ledger.recordEgress(tx, tenant, call.id(), bytes);
                return call;
            });
        }
        billing.at("2026-06-01T02:00:00Z");
        Invoice invoice = billing.invoicing.close(YearMonth.of(2026, 5), true, "test", "req").invoices().stream()
                .filter(candidate -> candidate.tenantId().equals(tenant)).findFirst().orElseThrow();
        Invoice.Line egress = invoice.lines().stream().filter(line -> line.sku().equals("egress")).findFirst().orElseThrow();
        assertThat(egress.quantity().toPlainString()).isEqualTo("2.000000001");
        assertThat(egress.unit()).isEqualTo("GB");
        assertThat(egress.exactAmount()).isEqualTo(Money.of("0.18000000009"));
        assertThat(egress.amount()).isEqualTo(Money.of("0.18"));
        assertThat(invoice.ledgerTotal()).isEqualTo(billing.ledgerSum(tenant, YearMonth.of(2026, 5)));
    }
}
