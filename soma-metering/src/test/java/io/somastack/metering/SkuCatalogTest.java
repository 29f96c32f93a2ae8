package io.somastack.metering;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.TestDatabase;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The operator's SKU catalog over HTTP: versions by period, flat, tiered and volume prices, and every problem of a bad price listed. */
class SkuCatalogTest {
    private static Database database;
    private static GroupCommit commit;
    private static TestGateway gateway;
    private static SkuCatalog catalog;
    private static String operator;

    @BeforeAll
    static void start() {
        Clock clock = Clock.system();
        Ids ids = new Ids(clock);
        database = TestDatabase.create();
        commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 16, 1);
        catalog = new SkuCatalog(database.jdbi(), commit, clock, ids, "USD");
        gateway = new TestGateway(database, commit, clock, ids, new SimpleMeterRegistry(), guard -> new PriceRoutes(guard, catalog, database.jdbi()));
        operator = gateway.operatorKey();
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

    @Test
    void anOperatorAddsATieredPriceAndSeesItListed() {
        TestGateway.Response created = gateway.send("POST", "/v1/admin/prices", operator, """
                {"sku": "tokens.output:listed-model", "pricing": "tiered", "effective_from": "2026-01",
                 "tiers": [{"up_to": "10", "unit_price": "0.60"}, {"unit_price": "0.50", "flat_fee": "1.00"}]}""");
        assertThat(created.status()).as(created.raw().body()).isEqualTo(201);
        assertThat(created.json().get("unit").asString()).isEqualTo("1M tokens");
        assertThat(created.json().get("currency").asString()).isEqualTo("USD");

        JsonNode listed = gateway.send("GET", "/v1/admin/prices", operator, null).json();
        assertThat(listed.get("data").valueStream().map(price -> price.get("sku").asString())).contains("tokens.output:listed-model");
        SkuPrice price = catalog.inEffect(LocalDate.parse("2026-03-01")).get("tokens.output:listed-model");
        assertThat(price.amount(new BigDecimal("12"))).isEqualTo(Money.of("8.00")); // 10 x 0.60 + 2 x 0.50 + 1.00
        assertThat(catalog.inEffect(LocalDate.parse("2025-12-01"))).doesNotContainKey("tokens.output:listed-model");
    }

    @Test
    void flatTieredAndVolumePricesDifferAsDocumented() {
        List<SkuPrice.Tier> tiers = List.of(new SkuPrice.Tier(java.util.Optional.of(new BigDecimal("100")), Money.of("0.10"), Money.ZERO),
                new SkuPrice.Tier(java.util.Optional.empty(), Money.of("0.05"), Money.of("2.00")));
        SkuPrice tiered = price(SkuPrice.Pricing.TIERED, tiers);
        SkuPrice volume = price(SkuPrice.Pricing.VOLUME, tiers);
        assertThat(tiered.amount(new BigDecimal("150"))).isEqualTo(Money.of("14.50")); // 100 x 0.10 + 50 x 0.05 + 2.00
        assertThat(volume.amount(new BigDecimal("150"))).isEqualTo(Money.of("9.50")); // 150 x 0.05 + 2.00
        assertThat(volume.amount(new BigDecimal("100"))).isEqualTo(Money.of("10.00"));
        assertThat(tiered.amount(BigDecimal.ZERO)).isEqualTo(Money.ZERO);
    }

    @Test
    void aBadPriceIsA400ListingEveryProblemItsOverlapIncluded() {
        assertThat(gateway.send("POST", "/v1/admin/prices", operator, """
                {"sku": "job_minute", "unit_price": "0.02", "effective_from": "2026-01", "effective_to": "2026-07"}""").status())
                .isEqualTo(201);
        TestGateway.Response refused = gateway.send("POST", "/v1/admin/prices", operator, """
                {"sku": "job_minute", "currency": "XYZ", "unit_price": "-0.01", "effective_from": "2026-06"}""");
        assertThat(refused.status()).as(refused.raw().body()).isEqualTo(400);
        assertThat(refused.header("Content-Type")).startsWith("application/problem+json");
        assertThat(refused.json().get("errors").valueStream().map(JsonNode::asString).toList()).satisfiesExactlyInAnyOrder(
                problem -> assertThat(problem).contains("currency 'XYZ'"),
                problem -> assertThat(problem).contains("unit_price must not be negative"));

        TestGateway.Response overlapping = gateway.send("POST", "/v1/admin/prices", operator, """
                {"sku": "job_minute", "unit_price": "0.03", "effective_from": "2026-06"}""");
        assertThat(overlapping.status()).isEqualTo(400);
        assertThat(overlapping.json().get("detail").asString()).contains("job_minute from 2026-06-01 on overlaps", "2026-01-01 to 2026-07-01");
        assertThat(gateway.send("POST", "/v1/admin/prices", operator, """
                {"sku": "job_minute", "unit_price": "0.03", "effective_from": "2026-07"}""").status()).isEqualTo(201);
    }

    @Test
    void midMonthDatesUnknownSkusAndMisplacedFieldsAreRefused() {
        TestGateway.Response refused = gateway.send("POST", "/v1/admin/prices", operator, """
                {"sku": "teleportation", "pricing": "volume", "unit_price": "1", "revenue_share": "0.7", "effective_from": "2026-01-15"}""");
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.json().get("errors").valueStream().map(JsonNode::asString).toList()).anySatisfy(
                problem -> assertThat(problem).contains("'teleportation' is not a SKU")).anySatisfy(
                problem -> assertThat(problem).contains("first day of a month")).anySatisfy(
                problem -> assertThat(problem).contains("unit_price is for flat pricing")).anySatisfy(
                problem -> assertThat(problem).contains("tiers are required")).anySatisfy(
                problem -> assertThat(problem).contains("revenue_share is only for capsule SKUs"));
    }

    @Test
    void aCapsuleSkuHasAUnitAndThePublishersShare() {
        TestGateway.Response created = gateway.send("POST", "/v1/admin/prices", operator, """
                {"sku": "capsule:weather-basic", "unit": "run", "unit_price": "0.50", "revenue_share": "0.70", "effective_from": "2026-01"}""");
        assertThat(created.status()).as(created.raw().body()).isEqualTo(201);
        assertThat(created.json().get("revenue_share").asString()).isEqualTo("0.7");
    }

    @Test
    void aTenantKeyCannotSeeOrChangePrices() {
        String tenant = gateway.tenantKey("price-peeker", "*");
        assertThat(gateway.send("GET", "/v1/admin/prices", tenant, null).status()).isEqualTo(403);
        assertThat(gateway.send("POST", "/v1/admin/prices", tenant, "{\"sku\": \"egress\", \"unit_price\": \"0.09\", \"effective_from\": \"2026-01\"}")
                .status()).isEqualTo(403);
    }

    private static SkuPrice price(SkuPrice.Pricing pricing, List<SkuPrice.Tier> tiers) {
        return new SkuPrice(java.util.UUID.randomUUID(), "egress", "USD", pricing, "GB", tiers, java.util.Optional.empty(),
                LocalDate.parse("2026-01-01"), java.util.Optional.empty());
    }
}
