package io.somastack.agents;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.models.FixtureReply;
import java.net.http.HttpRequest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Runs of an installed agent whose model is the OpenAI wire fixture, scripted to call the
 * capsule's real WebAssembly tool through the tool broker before it answers.
 */
class AgentRunTest {
    private static TestAgents soma;
    private static TestAgents.Client acme;
    private static TestAgents.Client other;

    @BeforeAll
    static void start() {
        soma = new TestAgents(AgentsConfig.defaults().withLimits(3, 16, java.time.Duration.ofMinutes(1)));
        acme = soma.tenant("acme");
        other = soma.tenant("other");
        soma.publishAndInstall(acme, "acme-helper", TestAgents.agentBundle("acme", "acme-helper", "1.0.0", TestAgents.MODEL, true, List.of(),
                "0.50", ""));
        soma.publishAndInstall(acme, "acme-plain", TestAgents.agentBundle("acme", "acme-plain", "1.0.0", TestAgents.MODEL, false, List.of(),
                "0.50", ""));
        soma.publishAndInstall(acme, "acme-priced", TestAgents.agentBundle("acme", "acme-priced", "1.0.0", TestAgents.MODEL, false, List.of(),
                "0.50", "price_sku: acme-priced-run\n"));
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    @Test
    void aOneStepRunWaitsForThreeDurableCommitsAndStillStoresEveryEventItSends() {
        soma.openAi.enqueue(new FixtureReply.Text("Four words of answer", 12, 4));
        long before = soma.commit.executions();

        JsonNode run = soma.run(acme.apiKey(), "acme-plain", "{\"input\": \"Answer in four words\"}").json();

        // The run row with run.started and the policy decision; the ledger row with the step's deltas and model.completed;
        // the run's end with its messages, provenance, run record and run.completed.
        assertThat(soma.commit.executions() - before).isEqualTo(3);
        assertThat(run.get("status").asString()).isEqualTo("completed");
        List<TestAgents.Sse> events = soma.events(soma.request("/v1/runs/%s/events".formatted(run.get("id").asString()), acme.apiKey())
                .GET().build(), 100);
        assertThat(events).extracting(TestAgents.Sse::event).containsExactly("run.started", "model.delta", "model.delta", "model.delta",
                "model.delta", "model.completed", "run.completed");
        assertThat(events).extracting(TestAgents.Sse::id).containsExactly(1, 2, 3, 4, 5, 6, 7);
        assertThat(soma.count("SELECT count(*) FROM capsule_runs WHERE name = 'acme-plain'")).isPositive();
        assertThat(soma.count("""
                SELECT count(*) FROM policy_decisions d JOIN agent_runs r ON r.request_id = d.request_id
                WHERE r.id = '%s' AND d.subject = 'acme-plain'""".formatted(run.get("id").asString()))).isEqualTo(1);
    }

    @Test
    void answersAfterCallingTheCapsulesToolAndStoresEveryEventInOrder() {
        soma.openAi.enqueue(new FixtureReply.ToolUse("transform", "{\"text\":\"forty-two\"}", 20, 8),
                new FixtureReply.Text("The answer is 42", 30, 5));

        TestGateway.Response response = soma.run(acme.apiKey(), "acme-helper", "{\"input\": \"What is the answer?\"}");

        assertThat(response.status()).as(response.raw().body()).isEqualTo(200);
        JsonNode run = response.json();
        assertThat(run.get("status").asString()).isEqualTo("completed");
        assertThat(run.get("answer").asString()).isEqualTo("The answer is 42");
        assertThat(run.get("usage").get("steps").asInt()).isEqualTo(2);
        assertThat(run.get("usage").get("tool_calls").asInt()).isEqualTo(1);
        assertThat(run.get("usage").get("input_tokens").asLong()).isEqualTo(50);
        // Two model calls at $1 per million tokens each way; the tool is unpriced.
        assertThat(Money.of(run.get("cost").asString())).isEqualTo(Money.of("0.000063"));
        // The model saw the tool's real result, from the WebAssembly module.
        JsonNode second = soma.openAi.lastRequest().body();
        JsonNode toolMessage = second.get("messages").get(second.get("messages").size() - 1);
        assertThat(toolMessage.get("role").asString()).isEqualTo("tool");
        assertThat(Json.mapper().readTree(toolMessage.get("content").asString()).get("input").get("text").asString()).isEqualTo("forty-two");
        assertThat(second.get("tools").get(0).get("function").get("name").asString()).isEqualTo("transform");

        List<TestAgents.Sse> events = soma.events(soma.request("/v1/runs/%s/events".formatted(run.get("id").asString()), acme.apiKey())
                .header("Accept", "text/event-stream").GET().build(), 1000);
        assertThat(events).extracting(TestAgents.Sse::id).containsExactlyElementsOf(IntStream.rangeClosed(1, events.size()).boxed().toList());
        assertThat(events.stream().map(TestAgents.Sse::event).filter(type -> !type.equals("model.delta") && !type.equals("tool.delta")))
                .containsExactly("run.started", "model.completed", "tool.started", "tool.completed", "model.completed", "run.completed");
        String streamed = String.join("", events.stream().filter(event -> event.event().equals("model.delta"))
                .map(event -> event.data().get("text").asString()).toList());
        assertThat(streamed).isEqualTo("The answer is 42");
        JsonNode completed = events.getLast().data();
        assertThat(completed.get("answer").asString()).isEqualTo("The answer is 42");
        assertThat(completed.get("provenance_id").asString()).isEqualTo(run.get("provenance_id").asString());
        // The run's cost is its ledger rows, every one of them under the run's id.
        String runId = run.get("id").asString();
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE request_id = '%s'".formatted(runId))).isEqualTo(3);
        assertThat(soma.sum("SELECT sum(cost) FROM usage_ledger WHERE request_id = '%s'".formatted(runId))).isEqualTo(Money.of("0.000063"));
        assertThat(soma.count("SELECT count(*) FROM capsule_runs WHERE name = 'acme-helper' AND success")).isGreaterThanOrEqualTo(1);
    }

    @Test
    void aConversationKeepsItsMessagesAndTheModelSeesThem() {
        TestGateway.Response created = soma.gateway.send("POST", "/v1/conversations", acme.apiKey(),
                "{\"agent\": \"acme-plain\", \"metadata\": {\"user\": \"ada\"}}");
        assertThat(created.status()).as(created.raw().body()).isEqualTo(201);
        String id = created.json().get("id").asString();
        soma.openAi.enqueue(new FixtureReply.Text("Hello Ada", 10, 2), new FixtureReply.Text("You said hello", 10, 3));

        assertThat(soma.gateway.send("POST", "/v1/conversations/%s/runs".formatted(id), acme.apiKey(), "{\"input\": \"Hello\"}").json()
                .get("answer").asString()).isEqualTo("Hello Ada");
        assertThat(soma.gateway.send("POST", "/v1/conversations/%s/runs".formatted(id), acme.apiKey(), "{\"input\": \"What did I say?\"}").json()
                .get("answer").asString()).isEqualTo("You said hello");

        JsonNode conversation = soma.gateway.send("GET", "/v1/conversations/" + id, acme.apiKey(), null).json();
        assertThat(conversation.get("agent").asString()).isEqualTo("acme-plain");
        assertThat(conversation.get("metadata").get("user").asString()).isEqualTo("ada");
        assertThat(conversation.get("messages").valueStream().map(message -> message.get("role").asString() + ":" + message.get("content").asString()))
                .containsExactly("user:Hello", "assistant:Hello Ada", "user:What did I say?", "assistant:You said hello");
        JsonNode messages = soma.openAi.lastRequest().body().get("messages");
        assertThat(messages.valueStream().map(message -> message.get("role").asString()))
                .containsExactly("system", "user", "assistant", "user");
    }

    @Test
    void anotherTenantsConversationsAndRunsAreNotFound() {
        String conversation = soma.gateway.send("POST", "/v1/conversations", acme.apiKey(), "{\"agent\": \"acme-plain\"}").json().get("id").asString();
        soma.openAi.enqueue(new FixtureReply.Text("Mine", 10, 1));
        String run = soma.run(acme.apiKey(), "acme-plain", "{\"input\": \"hi\"}").json().get("id").asString();

        assertThat(soma.gateway.send("GET", "/v1/conversations/" + conversation, other.apiKey(), null).status()).isEqualTo(404);
        assertThat(soma.gateway.send("POST", "/v1/conversations/%s/runs".formatted(conversation), other.apiKey(), "{\"input\": \"hi\"}").status())
                .isEqualTo(404);
        assertThat(soma.gateway.send("GET", "/v1/runs/" + run, other.apiKey(), null).status()).isEqualTo(404);
        assertThat(soma.gateway.send("GET", "/v1/runs/%s/events".formatted(run), other.apiKey(), null).status()).isEqualTo(404);
        assertThat(soma.gateway.send("GET", "/v1/runs/%s/provenance".formatted(run), other.apiKey(), null).status()).isEqualTo(404);
        // Nor can the other tenant run an agent it never installed.
        assertThat(soma.run(other.apiKey(), "acme-plain", "{\"input\": \"hi\"}").status()).isEqualTo(404);
    }

    @Test
    void refusesBadInputWithAProblem() {
        assertThat(soma.run(acme.apiKey(), "nobody", "{\"input\": \"hi\"}").status()).isEqualTo(404);
        TestGateway.Response empty = soma.run(acme.apiKey(), "acme-plain", "{\"input\": \"  \"}");
        assertThat(empty.status()).isEqualTo(400);
        assertThat(empty.json().get("detail").asString()).contains("input is empty");
        assertThat(soma.run(acme.apiKey(), "acme-plain", "{}").status()).isEqualTo(400);
        assertThat(soma.run(acme.apiKey(), "acme-plain", "{\"input\": \"hi\", \"extra\": 1}").json().get("type").asString())
                .endsWith("/unknown-field");
        assertThat(soma.run(acme.apiKey(), "acme-plain", "{\"input\": 5}").status()).isEqualTo(400);
        assertThat(soma.gateway.send("POST", "/v1/conversations", acme.apiKey(), "{\"agent\": \"nobody\"}").status()).isEqualTo(404);
        assertThat(soma.gateway.send("GET", "/v1/runs/not-a-run", acme.apiKey(), null).status()).isEqualTo(404);
        assertThat(soma.gateway.send("GET", "/v1/runs/%s/events".formatted(java.util.UUID.randomUUID()), acme.apiKey(), null).status())
                .isEqualTo(404);
    }

    @Test
    void aModelThatKeepsCallingToolsEndsAtMaxStepsBilledForWhatRan() {
        soma.openAi.enqueue(new FixtureReply.ToolUse("transform", "{\"text\":\"a\"}", 10, 5),
                new FixtureReply.ToolUse("transform", "{\"text\":\"b\"}", 10, 5),
                new FixtureReply.ToolUse("transform", "{\"text\":\"c\"}", 10, 5));

        JsonNode run = soma.run(acme.apiKey(), "acme-helper", "{\"input\": \"loop\"}").json();

        assertThat(run.get("status").asString()).isEqualTo("failed");
        assertThat(run.get("reason").asString()).isEqualTo("max_steps");
        assertThat(run.get("usage").get("steps").asInt()).isEqualTo(3);
        assertThat(run.get("usage").get("tool_calls").asInt()).isEqualTo(3);
        assertThat(Money.of(run.get("cost").asString()))
                .isEqualTo(soma.sum("SELECT sum(cost) FROM usage_ledger WHERE request_id = '%s'".formatted(run.get("id").asString())))
                .isEqualTo(Money.of("0.000045"));
    }

    @Test
    void argumentsThatFailTheSchemaGoBackToTheModelOnceThenTheRunFails() {
        soma.openAi.enqueue(new FixtureReply.ToolUse("transform", "{\"txt\":\"a\"}", 10, 5),
                new FixtureReply.ToolUse("transform", "{\"text\":7}", 10, 5));

        JsonNode run = soma.run(acme.apiKey(), "acme-helper", "{\"input\": \"bad arguments\"}").json();

        assertThat(run.get("status").asString()).isEqualTo("failed");
        assertThat(run.get("reason").asString()).isEqualTo("invalid_arguments");
        JsonNode firstAnswer = soma.openAi.lastRequest().body().get("messages");
        assertThat(firstAnswer.get(firstAnswer.size() - 1).get("content").asString()).contains("/txt");
        List<TestAgents.Sse> events = soma.events(soma.request("/v1/runs/%s/events".formatted(run.get("id").asString()), acme.apiKey())
                .GET().build(), 1000);
        JsonNode failed = events.getLast().data();
        assertThat(events.getLast().event()).isEqualTo("run.failed");
        assertThat(failed.get("errors").get(0).get("pointer").asString()).isEqualTo("/text");
    }

    @Test
    void aRetryWithTheSameIdempotencyKeyAnswersTheFirstRunNeverASecond() {
        soma.openAi.enqueue(new FixtureReply.Text("Only once", 10, 3));
        String body = "{\"input\": \"Answer once\"}";

        TestGateway.Response first = soma.run(acme.apiKey(), "acme-plain", body, "Idempotency-Key", "retry-me");
        TestGateway.Response retry = soma.run(acme.apiKey(), "acme-plain", body, "Idempotency-Key", "retry-me");

        assertThat(first.status()).as(first.raw().body()).isEqualTo(200);
        assertThat(retry.status()).as(retry.raw().body()).isEqualTo(200);
        String runId = first.json().get("id").asString();
        assertThat(retry.json().get("id").asString()).isEqualTo(runId);
        assertThat(retry.json().get("answer").asString()).isEqualTo("Only once");
        assertThat(retry.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(soma.count("SELECT count(*) FROM agent_runs WHERE idempotency_key = 'retry-me'")).isEqualTo(1);
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE request_id = '%s'".formatted(runId))).isEqualTo(1);
        // A streamed retry replays the first run's events, from run.started to run.completed.
        List<TestAgents.Sse> events = soma.events(soma.request("/v1/agents/acme-plain/runs", acme.apiKey()).header("Idempotency-Key", "retry-me")
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), 1000);
        assertThat(events.getFirst().event()).isEqualTo("run.started");
        assertThat(events.getFirst().data().get("run_id").asString()).isEqualTo(runId);
        assertThat(events.getLast().event()).isEqualTo("run.completed");
        // The key with another request is a conflict, and another tenant's key of the same name is its own.
        TestGateway.Response reused = soma.run(acme.apiKey(), "acme-plain", "{\"input\": \"Something else\"}", "Idempotency-Key", "retry-me");
        assertThat(reused.status()).isEqualTo(409);
        assertThat(reused.json().get("type").asString()).endsWith("/idempotency-key-reused");
        assertThat(reused.json().get("run_id").asString()).isEqualTo(runId);
        TestGateway.Response otherTenant = soma.run(other.apiKey(), "acme-plain", body, "Idempotency-Key", "retry-me");
        assertThat(otherTenant.status()).isEqualTo(404);
    }

    @Test
    void concurrentRequestsWithOneIdempotencyKeyStartOneRun() throws Exception {
        String body = "{\"input\": \"Twins\"}";
        List<Future<TestGateway.Response>> twins = new ArrayList<>();
        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 8; i++) {
                twins.add(threads.submit(() -> soma.run(acme.apiKey(), "acme-plain", body, "Idempotency-Key", "twins")));
            }
        }
        Set<String> ids = new HashSet<>();
        for (var twin : twins) {
            TestGateway.Response response = twin.get();
            assertThat(response.status()).as(response.raw().body()).isEqualTo(200);
            ids.add(response.json().get("id").asString());
        }
        assertThat(ids).hasSize(1);
        assertThat(soma.count("SELECT count(*) FROM agent_runs WHERE idempotency_key = 'twins'")).isEqualTo(1);
        // Every twin's budget reservation but the run's was released.
        assertThat(soma.count("SELECT count(*) FROM budget_reservations")).isZero();
    }

    @Test
    void aRevokedAgentIsGone() {
        soma.publishAndInstall(acme, "acme-old", TestAgents.agentBundle("acme", "acme-old", "1.0.0", TestAgents.MODEL, false, List.of(),
                "0.50", ""));
        TestGateway.Response revoked = soma.gateway.send("POST", "/v1/capsules/acme-old/versions/1.0.0/revoke", acme.apiKey(),
                Json.text(Map.of("reason", "leaks secrets")));
        assertThat(revoked.status()).as(revoked.raw().body()).isEqualTo(200);

        TestGateway.Response response = soma.run(acme.apiKey(), "acme-old", "{\"input\": \"hi\"}");

        assertThat(response.status()).isEqualTo(410);
        assertThat(response.json().get("type").asString()).endsWith("/capsule-revoked");
    }

    @Test
    void aCompletedRunOfAPricedCapsuleIsChargedUnderItsPriceSku() {
        soma.openAi.enqueue(new FixtureReply.Text("Priced", 10, 1));
        TestGateway.Response response = soma.run(acme.apiKey(), "acme-priced", "{\"input\": \"Hi\"}");
        assertThat(response.status()).as(response.raw().body()).isEqualTo(200);
        String runId = response.json().get("id").asString();
        // The charge is its own ledger row (the catalog prices capsule:acme-priced-run; unpriced here, so 0), with its publisher.
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE sku = 'capsule:acme-priced-run' AND request_id = 'capsule-run:%s'"
                .formatted(runId))).isEqualTo(1);
        assertThat(soma.count("SELECT count(*) FROM capsule_charges WHERE run_id = '%s' AND publisher = 'acme' AND charged".formatted(runId)))
                .isEqualTo(1);
        assertThat(soma.count("SELECT count(*) FROM usage_ledger WHERE request_id = '%s'".formatted(runId))).isEqualTo(1);
    }
}
