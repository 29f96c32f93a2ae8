package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import io.somastack.policy.Signatures;
import io.somastack.policy.SigningKeys;
import io.somastack.policy.TestCapsules;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The Overview's charts in a real headless Chromium against the real server: tokens and cost by
 * capsule (an agent run of an installed capsule, beside a key's own chat call) with totals equal
 * to {@code /v1/usage?group_by=capsule}, and the tenant's requests, errors and latency written by
 * the gateway's traffic flush, also on the operator's Traffic page. Each page is checked for
 * console errors and serious accessibility violations, and screenshotted under
 * {@code target/console-screenshots/}.
 */
class ConsoleOverviewBrowserTest {
    private static TestServer soma;
    private static TestBrowser browser;

    @BeforeAll
    static void start() {
        soma = TestServer.start("""
                prices:
                  - model: local
                    input_per_million: "1.5"
                    output_per_million: "2.25"
                traffic:
                  flush:
                    interval: 200ms
                """);
        browser = TestBrowser.start(soma.base);
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.close();
        }
        if (soma != null) {
            soma.close();
        }
    }

    @Test
    void theOverviewShowsUsageByCapsuleEqualToTheLedgerAndTheTenantsRequestsErrorsAndLatency() {
        // A publisher publishes a signed agent capsule; the tenant installs it and runs it on the local model.
        SigningKeys publisher = Signatures.generate();
        String publisherKey = soma.key(soma.tenant("overview-publisher", ""), "{}");
        assertThat(soma.post("/v1/policy/trusted-keys", publisherKey, Json.text(Map.of("name", "Release key", "role", "publisher",
                "public_key_pem", publisher.publicKeyPem()))).status()).isEqualTo(201);
        byte[] bundle = TestCapsules.zip(TestCapsules.files(TestCapsules.listing("trip-helper", "1.0.0", "acme", "Plans trips",
                List.of("travel"), "MIT", "trip-basic"), TestCapsules.sbom("is-number.cdx.json")));
        soma.publishSigned(publisherKey, bundle, publisher);

        String key = soma.key(soma.tenant("overview-co", ""), "{}");
        // The tenant's own API requests, each counted by the gateway: 4 answered 2xx, one 404.
        TestServer.Response installed = soma.post("/v1/capsules/trip-helper/install", key, "{}");
        assertThat(installed.status()).as(installed.body()).isEqualTo(201);
        TestServer.Response ran = soma.post("/v1/agents/trip-helper/runs", key, "{\"input\": \"A weekend in Lisbon?\"}");
        assertThat(ran.status()).as(ran.body()).isEqualTo(200);
        assertThat(ran.json().get("status").asString()).isEqualTo("completed");
        TestServer.Response chat = soma.post("/v1/chat/completions", key, """
                {"model":"local","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":8}""");
        assertThat(chat.status()).as(chat.body()).isEqualTo(200);
        assertThat(soma.get("/v1/installed-capsules/trip-helper", key).status()).isEqualTo(200);
        assertThat(soma.get("/v1/runs/" + UUID.randomUUID(), key).status()).isEqualTo(404);

        browser.signIn(key);
        assertThat(browser.path()).isEqualTo("/console/overview");
        // Traffic is written by the flush (every 200 ms here), not per request: reload until it is.
        waitFor(() -> browser.text("#traffic-requests").equals("5"));
        browser.check("overview-capsules-traffic");
        assertThat(browser.text("#traffic-client-errors")).isEqualTo("1");
        assertThat(browser.text("#traffic-server-errors")).isEqualTo("0");
        for (String chart : new String[] {"#traffic-chart", "#latency-chart", "#capsule-chart", "#usage-chart"}) {
            assertThat(browser.find(chart).getAttribute("data-rendered")).as(chart).isEqualTo("true");
            assertThat(browser.find(chart + " canvas").isDisplayed()).as(chart).isTrue();
        }
        JsonNode latency = Json.mapper().readTree(browser.find("#latency-chart").getAttribute("data-series"));
        assertThat(latency.get("series")).extracting(series -> series.get("label").asString()).containsExactly("p50", "p95", "p99");

        // The capsule chart and its table, against /v1/usage by capsule for the chart's own 48 hours.
        JsonNode chart = Json.mapper().readTree(browser.find("#capsule-chart").getAttribute("data-series"));
        String window = "from=%s&to=%s".formatted(Instant.ofEpochSecond(chart.get("from").asLong()), Instant.ofEpochSecond(chart.get("to").asLong()));
        JsonNode ledger = soma.get("/v1/usage?%s&group_by=capsule".formatted(window), key).json();
        assertThat(new BigDecimal(browser.text("#capsule-total-cost"))).isEqualByComparingTo(new BigDecimal(ledger.get("total_cost").asString()));
        Map<String, Long> ledgerTokens = new HashMap<>();
        long calls = 0;
        for (JsonNode row : ledger.get("data")) {
            String capsule = row.get("capsule").isNull() ? "no capsule" : row.get("capsule").asString();
            ledgerTokens.put(capsule, row.get("input_tokens").asLong() + row.get("output_tokens").asLong());
            calls += row.get("calls").asLong();
        }
        assertThat(ledgerTokens).containsOnlyKeys("trip-helper", "no capsule");
        assertThat(browser.text("#capsule-total-calls")).isEqualTo(Long.toString(calls));
        assertThat(browser.text("#capsule-usage-table")).contains("trip-helper").contains("no capsule");
        Map<String, Long> chartTokens = new HashMap<>();
        for (JsonNode series : chart.get("series")) {
            if (series.get("unit").asString().equals("tokens")) {
                long sum = 0;
                for (JsonNode value : series.get("values")) {
                    sum += value.asLong();
                }
                chartTokens.put(series.get("label").asString(), sum);
            }
        }
        assertThat(chartTokens).isEqualTo(ledgerTokens);
        browser.signOut();

        // The operator sees every tenant's traffic, or picks this one: the same 5 requests (then 6, with the /v1/usage call).
        browser.signIn(TestServer.ADMIN_KEY);
        browser.open("/console/traffic", "traffic-all-tenants");
        assertThat(Long.parseLong(browser.text("#traffic-requests"))).isGreaterThanOrEqualTo(6);
        browser.find("#tenant").sendKeys("overview-co");
        browser.click(browser.find("form[action='/console/traffic'] button[type=submit]"));
        assertThat(browser.path()).isEqualTo("/console/traffic");
        waitFor(() -> browser.text("#traffic-requests").equals("6"));
        browser.check("traffic-one-tenant");
        assertThat(browser.text("#traffic-client-errors")).isEqualTo("1");
        assertThat(browser.find("#latency-chart").getAttribute("data-rendered")).isEqualTo("true");
        browser.signOut();
        TestServer.assertProblem(soma.get("/console/traffic?tenant=not-a-uuid", null), 400, null);
    }

    /** Reloads the page until {@code condition} holds (at most 15 s). */
    private static void waitFor(java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("the condition did not hold within 15 s").isLessThan(deadline);
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            browser.driver.navigate().refresh();
        }
    }
}
