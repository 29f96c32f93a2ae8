package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import io.somastack.store.OneGroup;
import io.somastack.store.Tx;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.YearMonth;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Credits over real HTTP (applied on the next invoices, never below zero, the rest carried over),
 * late ledger rows (billed on the next invoice, listed by reconciliation), and SKU usage priced by
 * the catalog version in effect at the row's time.
 */
class CreditsAndLateRowsTest {
    private static BillingHarness billing;
    private static String operator;

    @BeforeAll
    static void start() {
        billing = new BillingHarness(Map.of("credited", new BigDecimal("0.10")));
        operator = billing.gateway.operatorKey();
    }

    @AfterAll
    static void stop() {
        if (billing != null) {
            billing.close();
        }
    }

    private static JsonNode invoiceOf(String key, String period) {
        return billing.gateway.send("GET", "/v1/invoices", key, null).json().get("data").valueStream()
                .filter(invoice -> invoice.get("period").asString().equals(period)).findFirst().orElseThrow();
    }

    private static JsonNode line(JsonNode invoice, String sku) {
        return invoice.get("lines").valueStream().filter(line -> line.get("sku").asString().equals(sku)).findFirst().orElseThrow();
    }

    @Test
    void aCreditIsAppliedOnTheNextInvoicesNeverBelowZeroAndTheRestCarriesOver() {
        billing.at("2026-03-02T00:00:00Z");
        String key = billing.gateway.tenantKey("credited", "invoices:read");
        TenantId tenant = billing.tenantOf("credited");
        TestGateway.Response granted = billing.operatorPost("/v1/admin/credits", """
                {"tenant_id": "%s", "amount": "5.00", "reason": "outage of 2026-03-01"}""".formatted(tenant));
        assertThat(granted.status()).as(granted.raw().body()).isEqualTo(201);
        assertThat(granted.json().get("remaining").asString()).isEqualTo("5.00");
        billing.call(tenant, "credit-model", 1_000_000, 0, "3.004", "0");

        JsonNode upcoming = billing.gateway.send("GET", "/v1/invoices/upcoming", key, null).json();
        assertThat(line(upcoming, "credit").get("amount").asString()).isEqualTo("-3.00");
        assertThat(upcoming.get("total").asString()).isEqualTo("0.00");

        billing.at("2026-04-01T02:00:00Z");
        assertThat(billing.operatorPost("/v1/admin/invoices/runs", "{\"period\": \"2026-03\"}").status()).isEqualTo(200);
        JsonNode march = invoiceOf(key, "2026-03");
        // 3.004 of usage is a 3.00 line: the credit takes 3.00, not 3.004, so the invoice is exactly zero, never below.
        assertThat(line(march, "credit").get("amount").asString()).isEqualTo("-3.00");
        assertThat(line(march, "credit").get("exact_amount").asString()).isEqualTo("-3.00");
        assertThat(march.get("subtotal").asString()).isEqualTo("0.00");
        assertThat(march.get("tax").asString()).isEqualTo("0.00");
        assertThat(march.get("total").asString()).isEqualTo("0.00");
        assertThat(march.get("ledger_total").asString()).isEqualTo("0.004");
        assertThat(billing.ledgerSum(tenant, YearMonth.of(2026, 3))).isEqualTo(Money.of("0.004"));
        JsonNode grants = billing.gateway.send("GET", "/v1/admin/credits?tenant_id=" + tenant, operator, null).json().get("data");
        assertThat(grants.get(0).get("remaining").asString()).isEqualTo("2.00");

        billing.call(tenant, "credit-model", 1_000_000, 0, "10", "0");
        billing.at("2026-05-01T02:00:00Z");
        billing.operatorPost("/v1/admin/invoices/runs", "{\"period\": \"2026-04\"}");
        JsonNode april = invoiceOf(key, "2026-04");
        assertThat(line(april, "credit").get("amount").asString()).isEqualTo("-2.00");
        assertThat(april.get("subtotal").asString()).isEqualTo("8.00");
        assertThat(april.get("tax").asString()).isEqualTo("0.80");
        assertThat(april.get("total").asString()).isEqualTo("8.80");
        assertThat(Money.of(april.get("ledger_total").asString())).isEqualTo(billing.ledgerSum(tenant, YearMonth.of(2026, 4)));
        assertThat(billing.gateway.send("GET", "/v1/admin/credits?tenant_id=" + tenant, operator, null).json().get("data").get(0)
                .get("remaining").asString()).isEqualTo("0.00");
    }

    @Test
    void aRetriedGrantLandsOnceAndABadOneListsEveryProblem() {
        billing.gateway.tenantKey("retried-credit", "invoices:read");
        TenantId tenant = billing.tenantOf("retried-credit");
        String body = "{\"tenant_id\": \"%s\", \"amount\": \"1.50\", \"reason\": \"goodwill\"}".formatted(tenant);
        TestGateway.Response first = billing.gateway.send("POST", "/v1/admin/credits", operator, body, "Idempotency-Key", "credit-1");
        TestGateway.Response again = billing.gateway.send("POST", "/v1/admin/credits", operator, body, "Idempotency-Key", "credit-1");
        assertThat(again.json().get("id").asString()).isEqualTo(first.json().get("id").asString());
        assertThat(billing.gateway.send("GET", "/v1/admin/credits?tenant_id=" + tenant, operator, null).json().get("data").size()).isEqualTo(1);

        TestGateway.Response bad = billing.operatorPost("/v1/admin/credits", "{\"tenant_id\": \"%s\", \"amount\": \"-0.005\", \"currency\": \"EUR\"}"
                .formatted(tenant));
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().get("errors").valueStream().map(JsonNode::asString))
                .containsExactly("amount must be positive", "currency must be the price book's USD", "reason is required");
        assertThat(billing.operatorPost("/v1/admin/credits", "{\"tenant_id\": \"00000000-0000-0000-0000-000000000001\", \"amount\": \"1\", \"reason\": \"x\"}")
                .status()).isEqualTo(404);
        assertThat(billing.gateway.send("GET", "/v1/admin/credits?tenant_id=nobody", operator, null).status()).isEqualTo(400);
        assertThat(billing.gateway.send("POST", "/v1/admin/credits", billing.gateway.tenantKey("not-an-operator", "invoices:read"), body)
                .status()).isEqualTo(403);
    }

    @Test
    void aRowArrivingForAClosedPeriodIsBilledOnTheNextInvoiceAndReconciliationListsIt() {
        billing.at("2026-06-05T00:00:00Z");
        String key = billing.gateway.tenantKey("late-comer", "invoices:read");
        TenantId tenant = billing.tenantOf("late-comer");
        billing.call(tenant, "late-model", 1_000_000, 0, "2", "0");
        billing.at("2026-07-01T02:00:00Z");
        billing.operatorPost("/v1/admin/invoices/runs", "{\"period\": \"2026-06\"}");
        // A node whose clock lags writes a row for June after June's invoice was made.
        billing.at("2026-06-30T23:59:59Z");
        Ledger.Entry late = billing.call(tenant, "late-model", 500_000, 0, "2", "0");

        JsonNode june = invoiceOf(key, "2026-06");
        assertThat(june.get("total").asString()).isEqualTo("2.00");
        assertThat(billing.ledgerSum(tenant, YearMonth.of(2026, 6))).isEqualTo(Money.of("2"));
        JsonNode reconciliation = billing.gateway.send("GET", "/v1/admin/reconciliation?period=2026-06", operator, null).json();
        assertThat(reconciliation.get("balanced").asBoolean()).isTrue();
        assertThat(reconciliation.get("late_rows").valueStream().filter(row -> row.get("ledger_id").asString().equals(late.id().toString())))
                .singleElement().satisfies(row -> {
                    assertThat(row.get("billed_in").asString()).isEqualTo("2026-07");
                    assertThat(row.get("cost").asString()).isEqualTo("1.00");
                    assertThat(row.get("item").asString()).isEqualTo("late-model");
                });

        billing.at("2026-08-01T02:00:00Z");
        billing.operatorPost("/v1/admin/invoices/runs", "{\"period\": \"2026-07\"}");
        JsonNode july = invoiceOf(key, "2026-07");
        assertThat(line(july, "late:tokens.input:late-model").get("amount").asString()).isEqualTo("1.00");
        assertThat(line(july, "late:tokens.input:late-model").get("description").asString())
                .isEqualTo("Late usage of a closed period: Input tokens, late-model");
        assertThat(july.get("total").asString()).isEqualTo("1.00");
        assertThat(billing.gateway.send("GET", "/v1/admin/reconciliation?period=2026-07", operator, null).json()
                .get("balanced").asBoolean()).isTrue();
    }

    @Test
    void lateRowsOfAGroupMoveToTheNextOpenPeriodAndTheOthersStay() {
        billing.at("2026-11-05T00:00:00Z");
        billing.gateway.tenantKey("closed-in-group", "invoices:read");
        TenantId closed = billing.tenantOf("closed-in-group");
        billing.call(closed, "group-model", 1_000_000, 0, "1", "0");
        billing.at("2026-12-01T02:00:00Z");
        billing.operatorPost("/v1/admin/invoices/runs", "{\"period\": \"2026-11\"}");
        billing.gateway.tenantKey("open-in-group", "invoices:read");
        TenantId open = billing.tenantOf("open-in-group");
        // One group commit (one INSERT statement) of November rows after November closed for one tenant but not the other.
        billing.at("2026-11-30T23:59:59Z");
        List<Function<Tx, Ledger.Entry>> group = List.of(
                tx -> billing.ledger.record(tx, usage(closed), null),
                tx -> billing.ledger.record(tx, usage(open), null),
                tx -> billing.ledger.record(tx, usage(closed), null));
        List<Ledger.Entry> entries = OneGroup.submit(billing.commit, group).stream().map(CompletableFuture::join).toList();

        Map<UUID, String> periods = billing.database.jdbi().withHandle(handle -> handle.createQuery(
                "SELECT id, to_char(period, 'YYYY-MM') || ' late of ' || coalesce(to_char(late_of, 'YYYY-MM'), 'none') AS moved FROM usage_ledger")
                .map((rs, ctx) -> Map.entry((UUID) rs.getObject("id"), rs.getString("moved"))).list().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)));
        assertThat(entries.stream().map(entry -> periods.get(entry.id())))
                .containsExactly("2026-12 late of 2026-11", "2026-11 late of none", "2026-12 late of 2026-11");
        assertThat(billing.ledgerSum(closed, YearMonth.of(2026, 11))).isEqualTo(Money.of("1"));
    }

    private static UsageRecord usage(TenantId tenant) {
        return new UsageRecord(tenant, UUID.randomUUID(), "req", Optional.empty(), "group-model", "openai", "group-model", 1_000_000, 0, false,
                new Price("group-model", Money.of("1"), Money.ZERO, Instant.EPOCH));
    }

    @Test
    void jobMinutesArePricedByTheCatalogVersionInEffectAtTheRowsTime() {
        billing.at("2026-09-01T00:00:00Z");
        billing.operatorPost("/v1/admin/prices", "{\"sku\": \"job_minute\", \"unit_price\": \"0.02\", \"effective_from\": \"2026-09\", \"effective_to\": \"2026-10\"}");
        billing.operatorPost("/v1/admin/prices", "{\"sku\": \"job_minute\", \"unit_price\": \"0.03\", \"effective_from\": \"2026-10\"}");
        String key = billing.gateway.tenantKey("job-runner", "invoices:read");
        TenantId tenant = billing.tenantOf("job-runner");
        SkuMeter meter = billing.metering.skuMeter();
        billing.at("2026-09-30T23:00:00Z");
        SkuMeter.Usage september = new SkuMeter.Usage(tenant, Skus.JOB_MINUTE, new BigDecimal("90.5"), "workflow-run-1",
                Optional.of("job:1"), Map.of("workflow", "nightly"));
        Ledger.Entry first = billing.commit.execute(tx -> meter.record(tx, september));
        Ledger.Entry retried = billing.commit.execute(tx -> meter.record(tx, september));
        assertThat(first.cost()).isEqualTo(Money.of("1.81"));
        assertThat(retried.created()).isFalse();
        assertThat(retried.id()).isEqualTo(first.id());
        billing.at("2026-10-01T00:30:00Z");
        Ledger.Entry october = billing.commit.execute(tx -> meter.record(tx, new SkuMeter.Usage(tenant, Skus.JOB_MINUTE, BigDecimal.TEN,
                "workflow-run-2", Optional.empty(), Map.of())));
        assertThat(october.cost()).isEqualTo(Money.of("0.30"));

        billing.at("2026-10-01T02:00:00Z");
        billing.operatorPost("/v1/admin/invoices/runs", "{\"period\": \"2026-09\"}");
        JsonNode line = line(invoiceOf(key, "2026-09"), "job_minute");
        assertThat(line.get("quantity").asString()).isEqualTo("90.5");
        assertThat(line.get("unit").asString()).isEqualTo("minute");
        assertThat(line.get("unit_price").asString()).isEqualTo("0.02");
        assertThat(line.get("amount").asString()).isEqualTo("1.81");
        assertThat(billing.gateway.send("GET", "/v1/admin/reconciliation?period=2026-09", operator, null).json()
                .get("balanced").asBoolean()).isTrue();
    }
}
