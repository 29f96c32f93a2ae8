package io.somastack.server;

import static io.somastack.server.TestServer.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The OpenAI-compatible API over real HTTP with the real tiny LLM as the local provider. */
class ChatCompletionsTest {
    private static TestServer soma;
    private static String key;

    @BeforeAll
    static void start() {
        soma = TestServer.start("""
                prices:
                  - model: local
                    input_per_million: "1.5"
                    output_per_million: "2.25"
                """);
        key = soma.key(soma.tenant("chat-co", ""), "{}");
    }

    @AfterAll
    static void stop() {
        // null when start() was skipped because the test model is absent
        if (soma != null) {
            soma.close();
        }
    }

    private static String chat(String extra) {
        return """
                {"model":"local","messages":[{"role":"system","content":"You tell stories."},
                {"role":"user","content":"Once upon a time"}],"max_tokens":12%s}""".formatted(extra);
    }

    @Test
    void listsTheLocalModel() {
        TestServer.Response models = soma.get("/v1/models", key);
        assertThat(models.status()).isEqualTo(200);
        assertThat(models.json().get("object").asString()).isEqualTo("list");
        assertThat(models.json().get("data").findValuesAsString("id")).contains("local");
    }

    @Test
    void aCompletionIsBilledExactlyOnceAtThePriceBooksPrice() {
        TestServer.Response response = soma.post("/v1/chat/completions", key, chat(""));

        assertThat(response.status()).as(response.body()).isEqualTo(200);
        JsonNode body = response.json();
        assertThat(body.get("object").asString()).isEqualTo("chat.completion");
        assertThat(body.get("choices").get(0).get("message").get("role").asString()).isEqualTo("assistant");
        long input = body.get("usage").get("prompt_tokens").asLong();
        long output = body.get("usage").get("completion_tokens").asLong();
        assertThat(output).isBetween(1L, 12L);
        BigDecimal expected = new BigDecimal("1.5").multiply(BigDecimal.valueOf(input))
                .add(new BigDecimal("2.25").multiply(BigDecimal.valueOf(output))).movePointLeft(6);
        assertThat(new BigDecimal(response.header("X-Soma-Cost"))).isEqualByComparingTo(expected);
    }

    @Test
    void streamsServerSentEventsWithUsageAndBillsThem() {
        String tenant = soma.tenant("stream-co", "");
        String streamKey = soma.key(tenant, "{}");

        TestServer.Response response = soma.post("/v1/chat/completions", streamKey, chat(",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));

        assertThat(response.status()).isEqualTo(200);
        assertThat(response.header("Content-Type")).startsWith("text/event-stream");
        List<JsonNode> events = new ArrayList<>();
        for (String line : response.body().split("\n")) {
            if (line.startsWith("data: ") && !line.equals("data: [DONE]")) {
                events.add(Json.mapper().readTree(line.substring(6)));
            }
        }
        assertThat(response.body().strip()).endsWith("data: [DONE]");
        assertThat(events).isNotEmpty().allSatisfy(event -> assertThat(event.get("object").asString()).isEqualTo("chat.completion.chunk"));
        JsonNode usage = events.getLast().get("usage");
        assertThat(usage).isNotNull();
        JsonNode row = usageOf(streamKey, "model", "local");
        assertThat(row.get("calls").asLong()).isEqualTo(1);
        assertThat(egressRows(tenant)).as("the streamed body's egress row").isEqualTo(1);
        assertThat(usageOf(streamKey, "model", "egress").get("calls").asLong()).as("egress is no call").isZero();
        assertThat(row.get("output_tokens").asLong()).isEqualTo(usage.get("completion_tokens").asLong());
        assertThat(row.get("input_tokens").asLong()).isEqualTo(usage.get("prompt_tokens").asLong());
    }

    @Test
    void usageSumsEqualTheLedgerExactly() {
        String tenant = soma.tenant("usage-co", "");
        String usageKey = soma.key(tenant, "{}");
        BigDecimal billed = BigDecimal.ZERO;
        for (int i = 0; i < 5; i++) {
            billed = billed.add(new BigDecimal(soma.post("/v1/chat/completions", usageKey, chat("")).header("X-Soma-Cost")));
        }

        for (String groupBy : List.of("model", "key", "day")) {
            JsonNode usage = soma.get("/v1/usage?group_by=" + groupBy, usageKey).json();
            // Egress is unpriced here, so its rows cost nothing.
            assertThat(new BigDecimal(usage.get("total_cost").asString())).as(groupBy).isEqualByComparingTo(billed);
        }
        assertThat(usageOf(usageKey, "model", "local").get("calls").asLong()).isEqualTo(5);
        assertThat(egressRows(tenant)).isEqualTo(5);
        // Grouped by key or day, the answers' egress rows are in the sums but are not calls.
        for (String groupBy : List.of("key", "day")) {
            JsonNode data = soma.get("/v1/usage?group_by=" + groupBy, usageKey).json().get("data");
            assertThat(data.size()).as(groupBy).isEqualTo(1);
            assertThat(data.get(0).get("calls").asLong()).as(groupBy).isEqualTo(5);
        }
        assertProblem(soma.get("/v1/usage?group_by=colour", usageKey), 400, "invalid-request");
        assertProblem(soma.get("/v1/usage?from=yesterday", usageKey), 400, "invalid-request");
    }

    @Test
    void aGrammarConstrainedToolCallComesBackAsOpenAiToolCalls() {
        String tools = """
                ,"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city",
                "parameters":{"type":"object","properties":{"city":{"type":"string","enum":["Paris","Oslo"]}},"required":["city"]}}}],
                "tool_choice":"required\"""";
        TestServer.Response response = soma.post("/v1/chat/completions", key, chat(tools).replace("\"max_tokens\":12", "\"max_tokens\":160"));

        assertThat(response.status()).as(response.body()).isEqualTo(200);
        JsonNode choice = response.json().get("choices").get(0);
        assertThat(choice.get("finish_reason").asString()).isEqualTo("tool_calls");
        JsonNode call = choice.get("message").get("tool_calls").get(0);
        assertThat(call.get("function").get("name").asString()).isEqualTo("get_weather");
        JsonNode arguments = Json.mapper().readTree(call.get("function").get("arguments").asString());
        assertThat(arguments.get("city").asString()).isIn("Paris", "Oslo");
    }

    @Test
    void anIdempotentRetryIsAnsweredOnceAndBilledOnce() {
        String tenant = soma.tenant("retry-co", "");
        String retryKey = soma.key(tenant, "{}");

        TestServer.Response first = soma.post("/v1/chat/completions", retryKey, chat(""), "Idempotency-Key", "order-42");
        TestServer.Response second = soma.post("/v1/chat/completions", retryKey, chat(""), "Idempotency-Key", "order-42");

        assertThat(second.status()).isEqualTo(200);
        assertThat(second.body()).isEqualTo(first.body());
        assertThat(second.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(second.header("X-Soma-Ledger-Id")).isEqualTo(first.header("X-Soma-Ledger-Id"));
        assertThat(second.header("X-Soma-Cost")).isEqualTo(first.header("X-Soma-Cost"));
        assertThat(usageOf(retryKey, "model", "local").get("calls").asLong()).isEqualTo(1);
        assertThat(egressRows(tenant)).as("the replayed answer is not metered again").isEqualTo(1);
        assertProblem(soma.post("/v1/chat/completions", retryKey, chat(",\"temperature\":1"), "Idempotency-Key", "order-42"),
                409, "idempotency-key-reused");
    }

    @Test
    void theBytesOfEachAnswerAreEgressLinkedToItsCall() {
        String tenant = soma.tenant("egress-co", "");
        String egressKey = soma.key(tenant, "{}");

        TestServer.Response plain = soma.post("/v1/chat/completions", egressKey, chat(""));
        TestServer.Response streamed = soma.post("/v1/chat/completions", egressKey, chat(",\"stream\":true"));
        assertProblem(soma.post("/v1/chat/completions", egressKey, chat(",\"frobnicate\":true")), 400, "unknown-field");

        assertThat(plain.status()).isEqualTo(200);
        assertThat(streamed.status()).isEqualTo(200);
        Jdbi jdbi = Jdbi.create(soma.databaseUrl, "postgres", "");
        List<Map<String, Object>> egress = jdbi.withHandle(handle -> handle.createQuery("""
                SELECT e.quantity, e.unit, c.id AS call, c.request_id, e.xmin::text = c.xmin::text AS with_call
                FROM usage_ledger e JOIN usage_ledger c ON e.idempotency_key = 'egress:' || c.id AND c.tenant_id = e.tenant_id
                WHERE e.meter = 'egress' AND e.tenant_id = CAST(:tenant AS uuid) ORDER BY e.created_at""")
                .bind("tenant", tenant).mapToMap().list());
        // The client's body bytes exactly (SSE framing included), in GB; the problem+json answer is not metered.
        assertThat(egress).hasSize(2);
        assertThat(egress.get(0).get("call").toString()).isEqualTo(plain.header("X-Soma-Ledger-Id"));
        assertThat((BigDecimal) egress.get(0).get("quantity")).isEqualByComparingTo(gigabytes(plain));
        assertThat(egress.get(0).get("unit")).isEqualTo("GB");
        assertThat(egress.get(0).get("with_call")).as("a buffered answer's egress commits with its call").isEqualTo(true);
        assertThat(egress.get(1).get("request_id")).isEqualTo(streamed.header("X-Request-Id"));
        assertThat(egress.get(1).get("with_call")).as("a stream's egress is known only after its call committed").isEqualTo(false);
        assertThat((BigDecimal) egress.get(1).get("quantity")).isEqualByComparingTo(gigabytes(streamed));
    }

    private static BigDecimal gigabytes(TestServer.Response response) {
        return BigDecimal.valueOf(response.body().getBytes(StandardCharsets.UTF_8).length).movePointLeft(9);
    }

    /** The tenant's egress ledger rows (answers' bodies). */
    private static long egressRows(String tenant) {
        return Jdbi.create(soma.databaseUrl, "postgres", "").withHandle(handle -> handle.createQuery(
                "SELECT count(*) FROM usage_ledger WHERE meter = 'egress' AND tenant_id = CAST(:tenant AS uuid)")
                .bind("tenant", tenant).mapTo(Long.class).one());
    }

    /** The tenant's /v1/usage row of {@code group} when grouped by {@code groupBy}. */
    private static JsonNode usageOf(String key, String groupBy, String group) {
        for (JsonNode row : soma.get("/v1/usage?group_by=" + groupBy, key).json().get("data")) {
            if (row.get(groupBy).asString().equals(group)) {
                return row;
            }
        }
        throw new AssertionError("No /v1/usage row for %s %s".formatted(groupBy, group));
    }

    @Test
    void badRequestsAreProblemsAndWriteNothingToTheLedger() {
        String tenant = soma.tenant("bad-co", "");
        String badKey = soma.key(tenant, "{}");

        assertProblem(soma.post("/v1/chat/completions", badKey, "{\"model\":\"local\",\"messages\":["), 400, "malformed-json");
        assertProblem(soma.post("/v1/chat/completions", badKey, chat("").replace("\"local\"", "\"gpt-9\"")), 400, "unknown-model");
        assertProblem(soma.post("/v1/chat/completions", badKey, chat("").replace("\"max_tokens\":12", "\"max_tokens\":-5")), 400, "invalid-request");
        assertProblem(soma.post("/v1/chat/completions", badKey, chat(",\"frobnicate\":true")), 400, "unknown-field");
        assertProblem(soma.post("/v1/chat/completions", badKey, chat(",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"bad name!\"}}]")),
                400, "invalid-tool-schema");

        assertThat(soma.get("/v1/usage", badKey).json().get("data")).isEmpty();
    }

    @Test
    void aKeysOwnBudgetIsEnforcedWithTheRemainingAmount() {
        String tenant = soma.tenant("key-budget-co", "");
        String tightKey = soma.key(tenant, "{\"monthly_budget\":\"0.00001\"}");

        TestServer.Response refused = soma.post("/v1/chat/completions", tightKey, chat(""));

        assertProblem(refused, 402, "budget-exhausted");
        assertThat(refused.json().get("remaining").asString()).isEqualTo("0.00001");
        assertThat(refused.json().get("detail").asString()).contains("key budget");
        assertThat(soma.get("/v1/usage", tightKey).json().get("data")).isEmpty();
    }

    @Test
    void metricsShowTokensAndLatencyHistogramsAndDispatchedEvents() throws InterruptedException {
        soma.post("/v1/chat/completions", key, chat(""));
        String metrics = soma.get("/metrics", TestServer.ADMIN_KEY).body();
        for (int attempt = 0; attempt < 50 && !metrics.contains("soma_outbox_dispatched_total{type=\"io.somastack.usage.recorded\"}"); attempt++) {
            Thread.sleep(100);
            metrics = soma.get("/metrics", TestServer.ADMIN_KEY).body();
        }
        assertThat(metrics).contains("soma_outbox_dispatched_total{type=\"io.somastack.usage.recorded\"}");
        assertThat(metrics).contains("soma_tokens_total{").contains("http_server_requests_seconds_bucket{")
                .contains("route=\"/v1/chat/completions\"").contains("soma_spend_usd_total{");
    }
}
