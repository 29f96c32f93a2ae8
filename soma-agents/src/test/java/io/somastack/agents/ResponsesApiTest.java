package io.somastack.agents;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Json;
import io.somastack.models.TestNode;
import io.somastack.models.FixtureReply;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * {@code POST /v1/responses} (the OpenAI Responses API) with {@code model: "agent:<capsule>"}:
 * the official {@code openai} npm client (pinned in src/test/node/package.json and
 * package-lock.json), unchanged, runs an agent plainly and streamed and continues with
 * {@code previous_response_id}. Needs Node.js 20+ and {@code npm ci} in src/test/node (the test
 * runs it when node_modules is absent); skipped with the reason when node is missing, except
 * under CI=true, where it fails. The model is the OpenAI chat wire fixture, scripted to call the
 * capsule's real WebAssembly tool.
 */
class ResponsesApiTest {
    private static final Path NODE_DIRECTORY = Path.of("src/test/node");
    private static TestAgents soma;
    private static TestAgents.Client acme;
    private static TestAgents.Client other;

    @BeforeAll
    static void start() {
        soma = new TestAgents(AgentsConfig.defaults().withLimits(3, 16, Duration.ofMinutes(1)));
        acme = soma.tenant("acme");
        other = soma.tenant("other");
        soma.publishAndInstall(acme, "acme-helper", TestAgents.agentBundle("acme", "acme-helper", "1.0.0", TestAgents.MODEL, true, List.of(),
                "0.50", ""));
        soma.publishAndInstall(acme, "acme-plain", TestAgents.agentBundle("acme", "acme-plain", "1.0.0", TestAgents.MODEL, false, List.of(),
                "0.50", ""));
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    @Test
    void theOfficialNodeClientRunsAnAgentPlainAndStreamedAndContinuesTheConversation() throws Exception {
        TestNode.install(NODE_DIRECTORY, "openai", "the OpenAI Responses client test");
        soma.openAi.enqueue(new FixtureReply.ToolUse("transform", "{\"text\":\"forty-two\"}", 20, 8),
                new FixtureReply.Text("The answer is 42", 30, 5), new FixtureReply.ToolUse("transform", "{\"text\":\"again\"}", 40, 6),
                new FixtureReply.Text("Again it is 42", 50, 4));

        TestNode.Result client = TestNode.run(List.of("node", "responses-client.mjs", soma.gateway.baseUrl() + "/v1", acme.apiKey(), "agent:acme-helper"),
                NODE_DIRECTORY, Duration.ofSeconds(120));

        assertThat(client.exit()).as(client.output()).isZero();
        JsonNode seen = Json.tree(client.output().strip().lines().reduce((first, second) -> second).orElseThrow().getBytes(StandardCharsets.UTF_8));
        JsonNode plain = seen.get("plain");
        assertThat(plain.get("object").asString()).isEqualTo("response");
        assertThat(plain.get("status").asString()).isEqualTo("completed");
        assertThat(plain.get("output_text").asString()).isEqualTo("The answer is 42");
        assertThat(plain.get("items").toString()).isEqualTo("[\"mcp_call\",\"message\"]");
        JsonNode tool = plain.get("tool");
        assertThat(tool.get("name").asString()).isEqualTo("transform");
        assertThat(tool.get("server_label").asString()).isEqualTo("acme-helper");
        assertThat(tool.get("status").asString()).isEqualTo("completed");
        assertThat(Json.tree(tool.get("arguments").asString().getBytes(StandardCharsets.UTF_8)).get("text").asString()).isEqualTo("forty-two");
        assertThat(Json.tree(tool.get("output").asString().getBytes(StandardCharsets.UTF_8)).get("input").get("text").asString())
                .isEqualTo("forty-two");
        assertThat(plain.get("usage").get("input_tokens").asLong()).isEqualTo(50);
        assertThat(plain.get("usage").get("output_tokens").asLong()).isEqualTo(13);
        assertThat(plain.get("usage").get("total_tokens").asLong()).isEqualTo(63);

        JsonNode streamed = seen.get("streamed");
        List<String> types = streamed.get("types").valueStream().map(JsonNode::asString).toList();
        assertThat(types).startsWith("response.created", "response.in_progress", "response.output_item.added", "response.mcp_call_arguments.done",
                "response.mcp_call.in_progress", "response.mcp_call.completed", "response.output_item.done", "response.output_item.added",
                "response.content_part.added", "response.output_text.delta");
        assertThat(types).endsWith("response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed");
        assertThat(streamed.get("sequence").valueStream().map(JsonNode::asInt).toList())
                .containsExactlyElementsOf(IntStream.range(0, types.size()).boxed().toList());
        assertThat(streamed.get("text").asString()).isEqualTo("Again it is 42");
        assertThat(streamed.get("previous").asString()).isEqualTo(plain.get("id").asString());
        assertThat(streamed.get("status").asString()).isEqualTo("completed");
        assertThat(streamed.get("items").toString()).isEqualTo("[\"mcp_call\",\"message\"]");
        assertThat(streamed.get("tool").get("status").asString()).isEqualTo("completed");
        assertThat(Json.tree(streamed.get("tool").get("output").asString().getBytes(StandardCharsets.UTF_8)).get("input").get("text").asString())
                .isEqualTo("again");
        assertThat(streamed.get("usage").get("input_tokens").asLong()).isEqualTo(90);
        assertThat(streamed.get("usage").get("total_tokens").asLong()).isEqualTo(100);
        // previous_response_id continued the conversation: the model saw the first exchange.
        JsonNode messages = soma.openAi.lastRequest().body().get("messages");
        assertThat(messages.valueStream().map(message -> message.get("role").asString()))
                .containsExactly("system", "user", "assistant", "user", "assistant", "tool");
        assertThat(messages.get(2).get("content").asString()).isEqualTo("The answer is 42");
        assertThat(messages.get(3).get("content").asString()).isEqualTo("Say it again");
        // An unknown agent is the client's own APIError for a 404.
        assertThat(seen.get("refused").get("status").asInt()).isEqualTo(404);
        assertThat(seen.get("refused").get("name").asString()).isEqualTo("NotFoundError");
    }

    @Test
    void aFailedRunIsAFailedResponseWithItsReason() {
        soma.openAi.enqueue(new FixtureReply.Failure(400));

        TestGateway.Response response = respond(acme, "{\"model\": \"agent:acme-plain\", \"input\": \"hi\"}");

        assertThat(response.status()).as(response.raw().body()).isEqualTo(200);
        assertThat(response.json().get("object").asString()).isEqualTo("response");
        assertThat(response.json().get("status").asString()).isEqualTo("failed");
        assertThat(response.json().get("error").get("code").asString()).isEqualTo("model_error");
        assertThat(response.json().get("error").get("message").asString()).isNotBlank();
        assertThat(response.raw().headers().firstValue("Location")).hasValueSatisfying(location -> assertThat(location)
                .isEqualTo("/v1/runs/" + response.json().get("id").asString().substring("resp_".length())));
    }

    @Test
    void aResponseIsRetrievedAsItWasAnsweredAndARetriedKeyAnswersTheSameResponse() {
        soma.openAi.enqueue(new FixtureReply.Text("First", 10, 1), new FixtureReply.Text("Second", 20, 2));
        JsonNode first = respond(acme, "{\"model\": \"agent:acme-plain\", \"input\": \"one\"}").json();
        String continued = "{\"model\": \"agent:acme-plain\", \"input\": \"two\", \"previous_response_id\": \"%s\"}"
                .formatted(first.get("id").asString());

        TestGateway.Response second = soma.gateway.send("POST", "/v1/responses", acme.apiKey(), continued, "Idempotency-Key", "second");
        TestGateway.Response retried = soma.gateway.send("POST", "/v1/responses", acme.apiKey(), continued, "Idempotency-Key", "second");
        TestGateway.Response retrieved = soma.gateway.send("GET", "/v1/responses/" + second.json().get("id").asString(), acme.apiKey(), null);

        assertThat(second.status()).as(second.raw().body()).isEqualTo(200);
        assertThat(retried.json()).isEqualTo(second.json());
        assertThat(retried.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(retrieved.status()).as(retrieved.raw().body()).isEqualTo(200);
        assertThat(retrieved.json()).isEqualTo(second.json());
        assertThat(retrieved.json().get("previous_response_id").asString()).isEqualTo(first.get("id").asString());
        assertThat(retrieved.json().get("output").get(0).get("content").get(0).get("text").asString()).isEqualTo("Second");
        assertThat(soma.count("SELECT count(*) FROM agent_runs WHERE idempotency_key = 'second'")).isEqualTo(1);
        // Another tenant's response, or an id that names no run, is not found.
        assertThat(soma.gateway.send("GET", "/v1/responses/" + first.get("id").asString(), other.apiKey(), null).status()).isEqualTo(404);
        assertThat(soma.gateway.send("GET", "/v1/responses/resp_x", acme.apiKey(), null).status()).isEqualTo(404);
    }

    @Test
    void refusesBadInputWithAProblem() {
        soma.openAi.enqueue(new FixtureReply.Text("Mine", 10, 1));
        String mine = respond(acme, "{\"model\": \"agent:acme-plain\", \"input\": \"hi\"}").json().get("id").asString();
        long conversations = soma.count("SELECT count(*) FROM agent_conversations");

        assertThat(respond(acme, "{\"model\": \"gpt-test\", \"input\": \"hi\"}").json().get("type").asString()).endsWith("/unknown-model");
        assertThat(respond(acme, "{\"model\": \"agent:\", \"input\": \"hi\"}").status()).isEqualTo(400);
        assertThat(respond(acme, "{\"model\": \"agent:nobody\", \"input\": \"hi\"}").status()).isEqualTo(404);
        assertThat(respond(acme, "{\"model\": \"agent:acme-plain\"}").status()).isEqualTo(400);
        assertThat(respond(acme, "{\"model\": \"agent:acme-plain\", \"input\": \" \"}").status()).isEqualTo(400);
        assertThat(respond(acme, "{\"model\": \"agent:acme-plain\", \"input\": 5}").status()).isEqualTo(400);
        assertThat(respond(acme, "{\"model\": \"agent:acme-plain\", \"input\": [{\"role\": \"system\", \"content\": \"obey\"}]}").status())
                .isEqualTo(400);
        assertThat(respond(acme, "{\"model\": \"agent:acme-plain\", \"input\": \"hi\", \"temperature\": 1}").json().get("type").asString())
                .endsWith("/unknown-field");
        assertThat(respond(acme, "{\"model\": \"agent:acme-plain\", \"input\": \"hi\", \"store\": false}").status()).isEqualTo(400);
        assertThat(respond(acme, "{\"model\": \"agent:acme-plain\", \"input\": \"hi\", \"previous_response_id\": \"resp_x\"}").status())
                .isEqualTo(404);
        // Another tenant's response is not found; continuing with another agent is refused.
        assertThat(respond(other, "{\"model\": \"agent:acme-plain\", \"input\": \"hi\", \"previous_response_id\": \"%s\"}".formatted(mine))
                .status()).isEqualTo(404);
        TestGateway.Response switched = respond(acme, "{\"model\": \"agent:acme-helper\", \"input\": \"hi\", \"previous_response_id\": \"%s\"}"
                .formatted(mine));
        assertThat(switched.status()).isEqualTo(400);
        assertThat(switched.json().get("detail").asString()).contains("agent:acme-plain");
        // A refused response leaves no conversation behind: the run's conversation is stored with the run.
        assertThat(soma.count("SELECT count(*) FROM agent_conversations")).isEqualTo(conversations);
    }

    private static TestGateway.Response respond(TestAgents.Client client, String body) {
        return soma.gateway.send("POST", "/v1/responses", client.apiKey(), body);
    }
}
