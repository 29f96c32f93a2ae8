package io.somastack.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The Grafana dashboard in {@code deploy/grafana/} names only metrics that {@code /metrics}
 * serves: after a chat call, a rate-limit refusal and a budget refusal, every metric of
 * every panel's query is in the scrape.
 */
class GrafanaDashboardTest {
    private static final Path DASHBOARD = Path.of("..", "deploy", "grafana", "somastack-overview.json");
    private static final Pattern METRIC = Pattern.compile("\\b((?:soma|http_server)_[a-z0-9_]+)\\b");
    private static TestServer soma;

    @BeforeAll
    static void start() {
        soma = TestServer.start("""
                tiers:
                  tiny:
                    rpm: 1
                prices:
                  - model: local
                    input_per_million: "1.5"
                    output_per_million: "2.25"
                """);
    }

    @AfterAll
    static void stop() {
        if (soma != null) {
            soma.close();
        }
    }

    @Test
    void everyMetricTheDashboardNamesIsServedAtMetrics() throws IOException {
        String chat = """
                {"model":"local","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":4}""";
        String limited = soma.key(soma.tenant("tiny-co", ",\"tier\":\"tiny\""), "{}");
        assertThat(soma.post("/v1/chat/completions", limited, chat).status()).isEqualTo(200);
        assertThat(soma.post("/v1/chat/completions", limited, chat).status()).isEqualTo(429);
        String broke = soma.key(soma.tenant("broke-co", ",\"monthly_budget\":\"0.000001\""), "{}");
        assertThat(soma.post("/v1/chat/completions", broke, chat).status()).isEqualTo(402);

        JsonNode dashboard = Json.tree(Files.readAllBytes(DASHBOARD));
        Set<String> named = new TreeSet<>();
        dashboard.get("panels").forEach(panel -> panel.get("targets").forEach(target -> {
            Matcher matcher = METRIC.matcher(target.get("expr").asString());
            while (matcher.find()) {
                named.add(matcher.group(1));
            }
        }));
        assertThat(named).contains("http_server_requests_seconds_bucket", "soma_tokens_total", "soma_spend_usd_total",
                "soma_ratelimit_rejections_total", "soma_budget_rejections_total");

        String scrape = soma.get("/metrics", TestServer.ADMIN_KEY).body();
        Set<String> served = new TreeSet<>();
        scrape.lines().filter(line -> !line.startsWith("#") && !line.isBlank())
                .map(line -> line.split("[{ ]", 2)[0]).forEach(served::add);
        assertThat(served).as("metrics in /metrics").containsAll(named);
    }
}
