package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import java.time.Duration;
import java.time.YearMonth;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The ledger exported to OpenMeter and Lago, checked by a local server speaking their published ingest formats. */
class UsageExportTest {
    private static ExportWireFixture receiver;
    private static BillingHarness billing;

    @BeforeAll
    static void start() {
        receiver = new ExportWireFixture("lago-test-key");
        billing = new BillingHarness(Map.of(), new ExportConfig(Optional.of(receiver.root()), Optional.of(receiver.root()), Optional.of("LAGO_KEY")));
    }

    @AfterAll
    static void stop() {
        if (billing != null) {
            billing.close();
        }
        if (receiver != null) {
            receiver.close();
        }
    }

    /** Lago's key comes from the environment variable the config names; here a lookup that knows it. */
    private static UsageExport lagoExport() {
        return new UsageExport(billing.database.jdbi(), new ExportConfig(Optional.empty(), Optional.of(receiver.root()), Optional.of("LAGO_KEY")),
                name -> name.equals("LAGO_KEY") ? Optional.of("lago-test-key") : Optional.empty(), Duration.ofMillis(10));
    }

    @Test
    void openMeterReceivesOneCloudEventPerLedgerRowAndARepeatedExportAddsNothing() {
        billing.at("2026-04-03T00:00:00Z");
        billing.gateway.tenantKey("exported", "invoices:read");
        TenantId tenant = billing.tenantOf("exported");
        Ledger.Entry first = billing.call(tenant, "export-model", 1000, 2000, "1", "2");
        billing.call(tenant, "export-model", 10, 20, "1", "2");
        billing.commit.execute(tx -> billing.metering.skuMeter().record(tx, new SkuMeter.Usage(tenant, Skus.JOB_MINUTE,
                new java.math.BigDecimal("2.5"), "job-1", Optional.of("job:1"), Map.of())));
        receiver.failNext.set(2);

        TestGateway.Response response = billing.operatorPost("/v1/admin/exports/openmeter", "{\"period\": \"2026-04\"}");
        assertThat(response.status()).as(response.raw().body()).isEqualTo(200);
        assertThat(response.json().get("events").asInt()).isEqualTo(3);
        assertThat(receiver.refused).isEmpty();
        assertThat(receiver.openMeterEvents).hasSize(3);
        JsonNode event = receiver.openMeterEvents.get("somastack/" + first.id());
        assertThat(event.get("type").asString()).isEqualTo("model.tokens");
        assertThat(event.get("subject").asString()).isEqualTo(tenant.toString());
        assertThat(event.get("time").asString()).isEqualTo("2026-04-03T00:00:00Z");
        assertThat(event.get("data").get("input_tokens").asLong()).isEqualTo(1000);
        assertThat(event.get("data").get("cost").asString()).isEqualTo("0.005");
        assertThat(receiver.openMeterEvents.values()).anySatisfy(job -> {
            assertThat(job.get("type").asString()).isEqualTo("job_minute");
            assertThat(job.get("data").get("quantity").asString()).isEqualTo("2.5");
            assertThat(job.get("data").get("unit").asString()).isEqualTo("minute");
        });

        assertThat(billing.operatorPost("/v1/admin/exports/openmeter", "{\"period\": \"2026-04\"}").status()).isEqualTo(200);
        assertThat(receiver.openMeterEvents).hasSize(3);
        assertThat(billing.operatorPost("/v1/admin/exports/stripe", "{\"period\": \"2026-04\"}").status()).isEqualTo(404);
        assertThat(billing.operatorPost("/v1/admin/exports/openmeter", "{}").status()).isEqualTo(400);
    }

    @Test
    void lagoReceivesBatchesOfAtMostAHundredWithItsKey() {
        billing.at("2026-07-02T00:00:00Z");
        billing.gateway.tenantKey("lago-customer", "invoices:read");
        TenantId tenant = billing.tenantOf("lago-customer");
        for (int i = 0; i < 250; i++) {
            billing.call(tenant, "lago-model", 100, 100, "1", "1");
        }
        UsageExport export = lagoExport();
        UsageExport.Result result = export.export(UsageExport.Target.LAGO, YearMonth.of(2026, 7));
        assertThat(result.events()).isEqualTo(250);
        assertThat(result.batches()).isEqualTo(3);
        assertThat(receiver.refused).isEmpty();
        assertThat(receiver.lagoEvents).hasSize(250);
        assertThat(receiver.lagoEvents.values()).allSatisfy(event -> {
            assertThat(event.get("external_subscription_id").asString()).isEqualTo(tenant.toString());
            assertThat(event.get("code").asString()).isEqualTo("model.tokens");
            assertThat(event.get("timestamp").asLong()).isEqualTo(java.time.Instant.parse("2026-07-02T00:00:00Z").getEpochSecond());
        });
        export.export(UsageExport.Target.LAGO, YearMonth.of(2026, 7));
        assertThat(receiver.lagoEvents).hasSize(250);
        export.close();
    }

    @Test
    void aRefusedBatchStopsTheExportWithoutRetryAndAnUnconfiguredTargetIsAConflict() {
        billing.at("2026-09-02T00:00:00Z");
        billing.gateway.tenantKey("lago-refused", "invoices:read");
        billing.call(billing.tenantOf("lago-refused"), "refused-model", 1, 1, "1", "1");
        receiver.lagoStatus = 422;
        int before = receiver.requests.get();
        try (UsageExport export = lagoExport()) {
            assertThatThrownBy(() -> export.export(UsageExport.Target.LAGO, YearMonth.of(2026, 9)))
                    .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.EXPORT_FAILED))
                    .hasMessageContaining("HTTP 422");
            assertThat(receiver.requests.get() - before).isEqualTo(1);
        } finally {
            receiver.lagoStatus = 0;
        }
        try (UsageExport none = new UsageExport(billing.database.jdbi(), ExportConfig.none(), name -> Optional.empty(), Duration.ofMillis(10))) {
            assertThatThrownBy(() -> none.export(UsageExport.Target.OPENMETER, YearMonth.of(2026, 9)))
                    .isInstanceOfSatisfying(SomaException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
        }
    }
}
