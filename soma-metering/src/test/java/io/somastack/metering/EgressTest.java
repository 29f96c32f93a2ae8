package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.ResponseEgress;
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
        TenantId tenant = tenantWithEgressPrice("egress-heavy", "0.09", "2026-05");
        billing.at("2026-05-12T00:00:00Z");
        for (long bytes : new long[] {1_500_000_000L, 500_000_001L}) {
            billing.commit.execute(tx -> {
                Ledger.Entry call = billing.ledger.recordToolCall(tx, tenant, UUID.randomUUID(), "req", "capsule", "fetch", "http",
                        Duration.ofMillis(5), "completed", Money.of("0.001"), null);
                billing.ledger.recordEgress(tx, tenant, call.id(), bytes);
                return call;
            });
        }
        Invoice invoice = close(tenant, YearMonth.of(2026, 5));
        Invoice.Line egress = egressLine(invoice);
        assertThat(egress.quantity().toPlainString()).isEqualTo("2.000000001");
        assertThat(egress.unit()).isEqualTo("GB");
        assertThat(egress.exactAmount()).isEqualTo(Money.of("0.18000000009"));
        assertThat(egress.amount()).isEqualTo(Money.of("0.18"));
        assertThat(invoice.ledgerTotal()).isEqualTo(billing.ledgerSum(tenant, YearMonth.of(2026, 5)));
    }

    @Test
    void responseBodiesToClientsJoinTheEgressLineOnceEachAndTheInvoiceStillEqualsTheLedger() {
        TenantId tenant = tenantWithEgressPrice("egress-clients", "0.07", "2026-07");
        UUID key = UUID.randomUUID();
        billing.at("2026-07-09T00:00:00Z");
        Ledger.Entry call = billing.commit.execute(tx -> {
            Ledger.Entry tool = billing.ledger.recordToolCall(tx, tenant, key, "req-1", "capsule", "fetch", "http",
                    Duration.ofMillis(5), "completed", Money.ZERO, null);
            billing.ledger.recordEgress(tx, tenant, tool.id(), 250_000_000L);
            return tool;
        });
        ResponseEgress.Egress answer = new ResponseEgress.Egress(tenant, key, call.id().toString(), "req-1", 1_000_000_003L);
        Ledger.Entry first = billing.commit.execute(tx -> billing.metering.skuMeter().recordResponseEgress(tx, answer));
        Ledger.Entry retried = billing.commit.execute(tx -> billing.metering.skuMeter().recordResponseEgress(tx, answer));

        assertThat(first.created()).isTrue();
        assertThat(retried.created()).as("a retry with the same link lands once").isFalse();
        assertThat(retried.id()).isEqualTo(first.id());
        assertThat(first.cost()).isEqualTo(Money.of("0.07000000021"));
        Invoice invoice = close(tenant, YearMonth.of(2026, 7));
        Invoice.Line egress = egressLine(invoice);
        assertThat(egress.quantity()).isEqualByComparingTo("1.250000003");
        assertThat(egress.exactAmount()).isEqualTo(Money.of("0.08750000021"));
        assertThat(invoice.ledgerTotal()).isEqualTo(billing.ledgerSum(tenant, YearMonth.of(2026, 7)));
    }

    /** A new tenant, and the egress SKU priced at {@code price} per GB for the one month {@code period}. */
    private static TenantId tenantWithEgressPrice(String name, String price, String period) {
        billing.at(period + "-01T00:00:00Z");
        String to = java.time.YearMonth.parse(period).plusMonths(1).toString();
        assertThat(billing.operatorPost("/v1/admin/prices", "{\"sku\": \"egress\", \"unit_price\": \"%s\", \"effective_from\": \"%s\", \"effective_to\": \"%s\"}"
                .formatted(price, period, to)).status()).isEqualTo(201);
        billing.gateway.tenantKey(name, "invoices:read");
        return billing.tenantOf(name);
    }

    /** Closes {@code period} two hours after its end; {@code tenant}'s invoice. */
    private static Invoice close(TenantId tenant, YearMonth period) {
        billing.at(period.plusMonths(1).atDay(1) + "T02:00:00Z");
        return billing.invoicing.close(period, true, "test", "req").invoices().stream()
                .filter(candidate -> candidate.tenantId().equals(tenant)).findFirst().orElseThrow();
    }

    private static Invoice.Line egressLine(Invoice invoice) {
        return invoice.lines().stream().filter(line -> line.sku().equals("egress")).findFirst().orElseThrow();
    }
}
