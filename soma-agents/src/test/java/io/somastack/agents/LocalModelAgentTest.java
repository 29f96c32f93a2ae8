package io.somastack.agents;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Json;
import io.somastack.kernel.Settings;
import io.somastack.models.ModelsConfig;
import io.somastack.models.TestModel;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** A real run on the tiny local model (stories260K), end to end, with a grammar-forced call of the capsule's WebAssembly tool. */
class LocalModelAgentTest {
    private static TestAgents soma;
    private static TestAgents.Client acme;

    @BeforeAll
    static void start() {
        String model = TestModel.path().toString();
        soma = new TestAgents(AgentsConfig.defaults().withMaxOutputTokens(256), fixture -> {
            Settings settings = Settings.load(Map.of("SOMA_LOCAL_MODEL", model, "SOMA_LOCAL_CONTEXT_SIZE", "1024", "SOMA_LOCAL_THREADS", "1"),
                    Optional.empty());
            return ModelsConfig.from(settings, Map.of());
        });
        acme = soma.tenant("acme");
        soma.publishAndInstall(acme, "acme-storyteller", TestAgents.agentBundle("acme", "acme-storyteller", "1.0.0", "local", true,
                "{type: object, properties: {text: {type: string, maxLength: 12}}, required: [text], additionalProperties: false}", List.of(),
                "0.10", ""));
    }

    @AfterAll
    static void stop() {
        if (soma != null) {
            soma.close();
        }
    }

    @Test
    void inputOverTheModelsContextIsRefusedWithTheNumbersBeforeAnyModelCall() {
        String input = "Once upon a time there was a little fox. ".repeat(300);

        TestGateway.Response response = soma.run(acme.apiKey(), "acme-storyteller", Json.text(Map.of("input", input)));

        assertThat(response.status()).as(response.raw().body()).isEqualTo(400);
        assertThat(response.json().get("context_size").asInt()).isEqualTo(1024);
        assertThat(response.json().get("prompt_tokens").asInt()).isGreaterThan(1024);
        assertThat(response.json().get("detail").asString()).contains("holds 1024");
        assertThat(soma.count("SELECT count(*) FROM agent_runs WHERE input = '%s'".formatted(input))).isZero();
    }

    @Test
    void theLocalModelCallsTheToolItIsForcedToAndThenAnswers() {
        JsonNode run = soma.run(acme.apiKey(), "acme-storyteller", """
                {"input": "Once upon a time", "tool_choice": {"type": "function", "function": {"name": "transform"}}}""").json();

        List<TestAgents.Sse> events = soma.events(soma.request("/v1/runs/%s/events".formatted(run.get("id").asString()), acme.apiKey())
                .GET().build(), 10_000);
        assertThat(run.get("status").asString()).as(run.toString()).isEqualTo("completed");
        assertThat(run.get("usage").get("steps").asInt()).as(events.toString()).isEqualTo(2);
        assertThat(run.get("usage").get("tool_calls").asInt()).isEqualTo(1);
        assertThat(run.get("answer").asString()).isNotBlank();
        JsonNode completed = events.stream().filter(event -> event.event().equals("tool.completed")).findFirst().orElseThrow().data();
        // The grammar made the model write arguments that match the tool's schema; the module echoed them.
        assertThat(completed.get("result").get("input").get("text").isString()).isTrue();
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE request_id = '%s'".formatted(run.get("id").asString()))).isEqualTo(3);
    }
}
