package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.time.YearMonth;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Marketplace capsule charges per run and per month on the tenants' invoices, and the publisher's statement of the same rows. */
class CapsuleChargesTest {
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

    private static void run(TenantId tenant, String capsule, String priceSku, String runId) {
        billing.commit.execute(tx -> billing.metering.capsuleCharges().recordRun(tx, tenant, capsule, "acme", priceSku, runId));
    }

    private static JsonNode line(String tenantName, String period, String sku) {
        return billing.invoicing.list(YearMonth.parse(period)).stream().filter(invoice -> invoice.tenantName().equals(tenantName))
                .findFirst().orElseThrow().lines().stream().filter(line -> line.sku().equals(sku))
                .map(line -> io.somastack.kernel.Json.mapper().valueToTree(Map.of("quantity", line.quantity().toPlainString(),
                        "unit", line.unit(), "amount", line.amount().toPlainString())))
                .map(JsonNode.class::cast).findFirst().orElseThrow();
    }

    @Test
    void capsuleRunsAreChargedPerRunOrPerMonthAndThePublisherStatementIsTheOtherSide() {
        billing.at("2026-02-01T00:00:00Z");
        assertThat(billing.operatorPost("/v1/admin/prices", """
                {"sku": "capsule:weather-pro", "unit": "run", "unit_price": "0.10", "revenue_share": "0.7", "effective_from": "2026-02"}""")
                .status()).isEqualTo(201);
        assertThat(billing.operatorPost("/v1/admin/prices", """
                {"sku": "capsule:atlas", "unit": "month", "unit_price": "5.00", "revenue_share": "0.5", "effective_from": "2026-02"}""")
                .status()).isEqualTo(201);
        billing.gateway.tenantKey("runs-weather", "invoices:read");
        billing.gateway.tenantKey("runs-atlas", "invoices:read");
        TenantId weather = billing.tenantOf("runs-weather");
        TenantId atlas = billing.tenantOf("runs-atlas");
        billing.at("2026-02-10T00:00:00Z");
        for (int i = 0; i < 3; i++) {
            run(weather, "weather", "weather-pro", "run-w" + i);
        }
        run(weather, "weather", "weather-pro", "run-w0"); // the same run again: charged once
        run(atlas, "atlas", "atlas", "run-a1");
        billing.at("2026-02-20T00:00:00Z");
        run(atlas, "atlas", "atlas", "run-a2");

        billing.at("2026-03-01T02:00:00Z");
        billing.operatorPost("/v1/admin/invoices/runs", "{\"period\": \"2026-02\"}");
        assertThat(line("runs-weather", "2026-02", "capsule:weather-pro").get("quantity").asString()).isEqualTo("3");
        assertThat(line("runs-weather", "2026-02", "capsule:weather-pro").get("amount").asString()).isEqualTo("0.30");
        assertThat(line("runs-atlas", "2026-02", "capsule:atlas").get("quantity").asString()).isEqualTo("1");
        assertThat(line("runs-atlas", "2026-02", "capsule:atlas").get("unit").asString()).isEqualTo("month");
        assertThat(line("runs-atlas", "2026-02", "capsule:atlas").get("amount").asString()).isEqualTo("5.00");

        JsonNode statement = billing.gateway.send("GET", "/v1/admin/publishers/acme/statements/2026-02", billing.gateway.operatorKey(), null)
                .json();
        assertThat(statement.get("lines").size()).isEqualTo(2);
        JsonNode atlasLine = statement.get("lines").get(0);
        assertThat(atlasLine.get("sku").asString()).isEqualTo("capsule:atlas");
        assertThat(atlasLine.get("runs").asLong()).isEqualTo(2);
        assertThat(atlasLine.get("quantity").asString()).isEqualTo("1");
        assertThat(atlasLine.get("gross").asString()).isEqualTo("5.00");
        assertThat(atlasLine.get("revenue_share").asString()).isEqualTo("0.5");
        assertThat(atlasLine.get("earned").asString()).isEqualTo("2.50");
        JsonNode weatherLine = statement.get("lines").get(1);
        assertThat(weatherLine.get("runs").asLong()).isEqualTo(3);
        assertThat(weatherLine.get("gross").asString()).isEqualTo("0.30");
        assertThat(weatherLine.get("exact_earned").asString()).isEqualTo("0.21");
        assertThat(statement.get("total").asString()).isEqualTo("2.71");
        assertThat(Money.of(statement.get("gross").asString()))
                .isEqualTo(billing.ledgerSum(weather, YearMonth.of(2026, 2)).plus(billing.ledgerSum(atlas, YearMonth.of(2026, 2))));

        JsonNode nobody = billing.gateway.send("GET", "/v1/admin/publishers/nobody/statements/2026-02", billing.gateway.operatorKey(), null)
                .json();
        assertThat(nobody.get("lines").size()).isZero();
        assertThat(nobody.get("total").asString()).isEqualTo("0.00");
        assertThat(billing.gateway.send("GET", "/v1/admin/publishers/acme/statements/Feb", billing.gateway.operatorKey(), null).status())
                .isEqualTo(400);
        assertThat(billing.gateway.send("GET", "/v1/admin/publishers/-acme/statements/2026-02", billing.gateway.operatorKey(), null).status())
                .isEqualTo(400);
        assertThat(billing.gateway.send("GET", "/v1/admin/reconciliation?period=2026-02", billing.gateway.operatorKey(), null).json()
                .get("balanced").asBoolean()).isTrue();
    }
}
