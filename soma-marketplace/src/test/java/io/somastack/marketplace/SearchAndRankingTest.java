package io.somastack.marketplace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class SearchAndRankingTest {
    private static TestMarketplace soma;
    private static TestMarketplace.Publisher wayne;
    private static String reader;

    @BeforeAll
    static void start() {
        soma = new TestMarketplace();
        wayne = soma.publisher("wayne-pub");
        publish("weather-now", "Current weather conditions for any city.", List.of("weather", "geo"), "MIT", null);
        publish("storm-alerts", "Severe weather and storm warnings pushed to your agents.", List.of("weather", "alerts"), "Apache-2.0", "alerts-pro");
        publish("invoice-reader", "Extracts totals and line items from invoices.", List.of("finance"), "MIT", "finance-basic");
        reader = soma.gateway.tenantKey("searcher", "capsules:read", "capsules:write");
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    private static void publish(String name, String description, List<String> tags, String license, String sku) {
        byte[] bundle = TestMarketplace.bundle(io.somastack.policy.TestCapsules.listing(name, "1.0.0", "wayne", description, tags, license, sku));
        assertThat(soma.publishZip(wayne.apiKey(), bundle, wayne.keys()).statusCode()).isEqualTo(201);
    }

    private static List<String> names(String query) {
        TestGateway.Response response = soma.gateway.send("GET", "/v1/capsules" + query, reader, null);
        assertThat(response.status()).as(response.raw().body()).isEqualTo(200);
        List<String> names = new ArrayList<>();
        response.json().get("data").forEach(entry -> names.add(entry.get("name").asString()));
        return names;
    }

    @Test
    void findsCapsulesByTextAndFilters() {
        assertThat(names("?q=weather")).containsExactlyInAnyOrder("weather-now", "storm-alerts");
        assertThat(names("?q=storms")).containsExactly("storm-alerts");
        assertThat(names("?q=invoice%20totals")).containsExactly("invoice-reader");
        assertThat(names("?q=weather%20-storm")).containsExactly("weather-now");
        assertThat(names("?tag=weather&sort=name")).containsExactly("storm-alerts", "weather-now");
        assertThat(names("?license=MIT&sort=name")).containsExactly("invoice-reader", "weather-now");
        assertThat(names("?free=true")).containsExactly("weather-now");
        assertThat(names("?price_sku=finance-basic")).containsExactly("invoice-reader");
        assertThat(names("?publisher=wayne&sort=name&limit=2&offset=1")).containsExactly("storm-alerts", "weather-now");
        assertThat(names("?q=spaceships")).isEmpty();
        TestGateway.Response bad = soma.gateway.send("GET", "/v1/capsules?sort=popularity", reader, null);
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().get("detail").asString()).contains("sort must be one of");
        assertThat(soma.gateway.send("GET", "/v1/capsules?limit=1000", reader, null).status()).isEqualTo(400);
        assertThat(soma.gateway.send("GET", "/v1/capsules?sort=relevance", reader, null).status()).isEqualTo(400);
    }

    @Test
    void ranksByMeasuredRunsWithTheWilsonLowerBound() {
        for (String name : List.of("weather-now", "storm-alerts", "invoice-reader")) {
            assertThat(soma.gateway.send("POST", "/v1/capsules/" + name + "/install", reader, null).status()).isEqualTo(201);
        }
        TenantId tenant = new TenantId(UUID.fromString(soma.strings("SELECT DISTINCT tenant_id::text FROM capsule_installs").getFirst()));
        // weather-now: 9 of 10 runs succeed, latencies 10..100 ms, cost 0.001 each.
        for (int i = 1; i <= 10; i++) {
            soma.marketplace.runs().record(tenant, "weather-now", Duration.ofMillis(10L * i), Money.of("0.001"), i != 10);
        }
        // storm-alerts: 3 of 3.
        for (int i = 0; i < 3; i++) {
            soma.marketplace.runs().record(tenant, "storm-alerts", Duration.ofMillis(500), Money.of("0.01"), true);
        }
        // invoice-reader: 97 of 100.
        for (int i = 0; i < 100; i++) {
            soma.marketplace.runs().record(tenant, "invoice-reader", Duration.ofMillis(40), Money.of(i % 2 == 0 ? "0.003" : "0.004"), i >= 3);
        }
        assertThat(soma.marketplace.runs().refresh()).isEqualTo(3);

        assertThat(names("?sort=rank")).containsExactly("invoice-reader", "weather-now", "storm-alerts");
        assertThat(names("?sort=latency")).containsExactly("invoice-reader", "weather-now", "storm-alerts");
        assertThat(names("?sort=cost")).containsExactly("weather-now", "invoice-reader", "storm-alerts");
        JsonNode ranking = soma.gateway.send("GET", "/v1/capsules/weather-now", reader, null).json().get("ranking");
        assertThat(ranking.get("runs").asLong()).isEqualTo(10);
        assertThat(ranking.get("successes").asLong()).isEqualTo(9);
        assertThat(ranking.get("success_lower_bound").asDouble()).isCloseTo(0.5958, within(0.0001));
        assertThat(ranking.get("p50_ms").asDouble()).isCloseTo(55.0, within(1e-9));
        assertThat(ranking.get("p95_ms").asDouble()).isCloseTo(95.5, within(1e-9));
        assertThat(ranking.get("cost_per_run").asString()).isEqualTo("0.001");
        JsonNode invoice = soma.gateway.send("GET", "/v1/capsules/invoice-reader", reader, null).json().get("ranking");
        assertThat(invoice.get("success_lower_bound").asDouble()).isCloseTo(0.9155, within(0.0001));
        assertThat(invoice.get("cost_per_run").asString()).isEqualTo("0.0035");
        assertThat(soma.gateway.send("GET", "/v1/capsules/storm-alerts", reader, null).json().get("ranking").get("success_lower_bound").asDouble())
                .isCloseTo(0.4385, within(0.0001));
    }

    @Test
    void wilsonLowerBoundMatchesPublishedValues() {
        assertThat(Ranking.wilsonLowerBound(0, 0, Ranking.Z95)).isZero();
        assertThat(Ranking.wilsonLowerBound(0, 10, Ranking.Z95)).isZero();
        assertThat(Ranking.wilsonLowerBound(9, 10, Ranking.Z95)).isCloseTo(0.5958, within(0.0001));
        assertThat(Ranking.wilsonLowerBound(970, 1000, Ranking.Z95)).isCloseTo(0.9575, within(0.0001));
        assertThat(Ranking.wilsonLowerBound(3, 3, Ranking.Z95)).isLessThan(Ranking.wilsonLowerBound(970, 1000, Ranking.Z95));
    }

    @Test
    void ordersVersionsBySemVerPrecedence() {
        List<String> ordered = List.of("1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
                "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0");
        List<String> shuffled = new ArrayList<>(ordered);
        java.util.Collections.shuffle(shuffled, new java.util.Random(7));
        assertThat(shuffled.stream().map(SemVer::parse).sorted().map(SemVer::toString).toList()).isEqualTo(ordered);
        assertThat(SemVer.parse("1.0.0+build.5").compareTo(SemVer.parse("1.0.0"))).isZero();
    }
}
