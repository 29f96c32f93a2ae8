package io.somastack.agents;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Json;
import io.somastack.models.FixtureReply;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * A capsule whose manifest grants a memory scope to write ({@code memory.write}) is offered the
 * built-in {@code remember} tool; the model, scripted through the OpenAI wire fixture, calls it,
 * and the fact lands in real memory with the run as its source. Without the grant the tool is
 * not offered; a scope outside the grant is refused back to the model and nothing is written.
 */
class RememberTest {
    private static TestAgents soma;
    private static TestAgents.Client acme;
    private static TestAgents.Client other;

    @BeforeAll
    static void start() {
        soma = new TestAgents(AgentsConfig.defaults());
        acme = soma.tenant("acme");
        other = soma.tenant("other");
        // The extra line continues the manifest's memory section: scopes [agent], write [agent].
        soma.publishAndInstall(acme, "acme-notes", TestAgents.agentBundle("acme", "acme-notes", "1.1.0", TestAgents.MODEL, false,
                List.of("agent"), "0.50", "  write: [agent]\n"));
        soma.publishAndInstall(acme, "acme-shared", TestAgents.agentBundle("acme", "acme-shared", "1.0.0", TestAgents.MODEL, false,
                List.of(), "0.50", "memory:\n  write: [tenant]\n"));
        soma.publishAndInstall(acme, "acme-reader", TestAgents.agentBundle("acme", "acme-reader", "1.0.0", TestAgents.MODEL, false,
                List.of("agent"), "0.50", ""));
    }

    @AfterAll
    static void stop() {
        soma.close();
    }

    @Test
    void storesTheFactTheModelRemembersWithTheRunAsItsSourceAndListsItInTheProvenance() {
        soma.openAi.enqueue(new FixtureReply.ToolUse("remember", "{\"text\":\"The customer Ada prefers email over phone\"}", 20, 8),
                new FixtureReply.Text("Noted", 30, 2));

        TestGateway.Response response = soma.run(acme.apiKey(), "acme-notes", "{\"input\": \"Ada says: email me, never call\"}");

        assertThat(response.status()).as(response.raw().body()).isEqualTo(200);
        JsonNode run = response.json();
        String runId = run.get("id").asString();
        assertThat(run.get("status").asString()).isEqualTo("completed");
        assertThat(run.get("usage").get("tool_calls").asInt()).isEqualTo(1);
        // The model was offered the built-in tool, and heard back what was stored.
        JsonNode first = soma.openAi.requests().get(soma.openAi.requests().size() - 2).body();
        assertThat(first.get("tools").valueStream().map(tool -> tool.get("function").get("name").asString())).containsExactly("remember");
        JsonNode second = soma.openAi.lastRequest().body();
        JsonNode toolMessage = second.get("messages").get(second.get("messages").size() - 1);
        assertThat(toolMessage.get("role").asString()).isEqualTo("tool");
        JsonNode toolResult = Json.mapper().readTree(toolMessage.get("content").asString());
        assertThat(toolResult.get("outcome").asString()).isEqualTo("created");

        List<TestAgents.Sse> events = soma.events(soma.request("/v1/runs/%s/events".formatted(runId), acme.apiKey())
                .header("Accept", "text/event-stream").GET().build(), 1000);
        assertThat(events.stream().map(TestAgents.Sse::event).filter(type -> !type.equals("model.delta")))
                .containsExactly("run.started", "memory.recalled", "model.completed", "memory.remembered", "model.completed", "run.completed");
        JsonNode remembered = events.stream().filter(event -> event.event().equals("memory.remembered")).findFirst().orElseThrow().data();
        String memoryId = remembered.get("memory_id").asString();
        String revisionId = remembered.get("revision_id").asString();
        assertThat(remembered.get("scope").asString()).isEqualTo("agent:acme-notes");
        assertThat(memoryId).isEqualTo(toolResult.get("memory_id").asString());

        // Recallable in the tenant and the agent's scope, with the run as its source.
        TestGateway.Response recall = soma.gateway.send("POST", "/v1/memories/recall", acme.apiKey(), Json.text(Map.of(
                "query", "How does Ada want to be contacted?", "scopes", List.of(Map.of("kind", "agent", "id", "acme-notes")), "k", 3)));
        assertThat(recall.status()).as(recall.raw().body()).isEqualTo(200);
        JsonNode fact = recall.json().get("facts").get(0);
        assertThat(fact.get("memory_id").asString()).isEqualTo(memoryId);
        assertThat(fact.get("revision_id").asString()).isEqualTo(revisionId);
        assertThat(fact.get("text").asString()).isEqualTo("The customer Ada prefers email over phone");
        assertThat(fact.get("provenance").get("kind").asString()).isEqualTo("agent");
        assertThat(fact.get("provenance").get("reference").asString()).isEqualTo("run:" + runId);
        assertThat(fact.get("provenance").get("author").asString()).isEqualTo("acme-notes@1.1.0");
        // Another tenant's recall of the same scope finds nothing.
        TestGateway.Response elsewhere = soma.gateway.send("POST", "/v1/memories/recall", other.apiKey(), Json.text(Map.of(
                "query", "How does Ada want to be contacted?", "scopes", List.of(Map.of("kind", "agent", "id", "acme-notes")), "k", 3)));
        assertThat(elsewhere.json().get("facts")).isEmpty();

        // The signed provenance lists the write with its exact revision.
        JsonNode predicate = predicate(runId);
        assertThat(predicate.get("memory_writes")).hasSize(1);
        JsonNode write = predicate.get("memory_writes").get(0);
        assertThat(write.get("memory_id").asString()).isEqualTo(memoryId);
        assertThat(write.get("revision_id").asString()).isEqualTo(revisionId);
        assertThat(write.get("scope").asString()).isEqualTo("agent:acme-notes");
    }

    @Test
    void refusesAScopeTheManifestDoesNotGrantAsAToolErrorAndWritesNothing() {
        long before = soma.count("SELECT count(*) FROM memory_revisions");
        soma.openAi.enqueue(new FixtureReply.ToolUse("remember", "{\"text\":\"Everyone prefers email\",\"scope\":\"tenant\"}", 20, 8),
                new FixtureReply.Text("I could not keep that", 30, 5));

        TestGateway.Response response = soma.run(acme.apiKey(), "acme-notes", "{\"input\": \"Remember for everyone: email only\"}");

        assertThat(response.status()).as(response.raw().body()).isEqualTo(200);
        JsonNode run = response.json();
        assertThat(run.get("status").asString()).isEqualTo("completed");
        JsonNode second = soma.openAi.lastRequest().body();
        JsonNode toolMessage = second.get("messages").get(second.get("messages").size() - 1);
        JsonNode toolResult = Json.mapper().readTree(toolMessage.get("content").asString());
        assertThat(toolResult.get("reason").asString()).isEqualTo("scope_not_granted");
        assertThat(toolResult.get("error").asString()).contains("acme-notes", "tenant", "[agent]");
        assertThat(soma.count("SELECT count(*) FROM memory_revisions")).isEqualTo(before);
        List<TestAgents.Sse> events = soma.events(soma.request("/v1/runs/%s/events".formatted(run.get("id").asString()), acme.apiKey())
                .header("Accept", "text/event-stream").GET().build(), 1000);
        assertThat(events).extracting(TestAgents.Sse::event).doesNotContain("memory.remembered");
        assertThat(predicate(run.get("id").asString()).get("memory_writes")).isEmpty();
    }

    @Test
    void aKeyRestrictedToTheAgentCannotWriteTheTenantScopeEvenWhenTheManifestGrantsIt() {
        long before = soma.count("SELECT count(*) FROM memory_revisions");
        String restricted = soma.gateway.key(acme.tenant(), "agents:run", "agent:acme-shared");
        soma.openAi.enqueue(new FixtureReply.ToolUse("remember", "{\"text\":\"The office closes at six\"}", 20, 8),
                new FixtureReply.Text("I could not keep that", 30, 5));

        TestGateway.Response response = soma.run(restricted, "acme-shared", "{\"input\": \"Tell everyone: we close at six\"}");

        assertThat(response.status()).as(response.raw().body()).isEqualTo(200);
        assertThat(response.json().get("status").asString()).isEqualTo("completed");
        JsonNode second = soma.openAi.lastRequest().body();
        JsonNode toolResult = Json.mapper().readTree(second.get("messages").get(second.get("messages").size() - 1).get("content").asString());
        assertThat(toolResult.get("reason").asString()).isEqualTo("insufficient_scope");
        assertThat(toolResult.get("error").asString()).contains("tenant");
        assertThat(soma.count("SELECT count(*) FROM memory_revisions")).isEqualTo(before);
    }

    @Test
    void aCapsuleWithoutAWriteGrantIsNotOfferedTheTool() {
        soma.openAi.enqueue(new FixtureReply.Text("Hello", 10, 1));

        TestGateway.Response response = soma.run(acme.apiKey(), "acme-reader", "{\"input\": \"Remember that I like tea\"}");

        assertThat(response.status()).as(response.raw().body()).isEqualTo(200);
        assertThat(response.json().get("status").asString()).isEqualTo("completed");
        JsonNode request = soma.openAi.lastRequest().body();
        assertThat(request.get("tools") == null || request.get("tools").isNull()).as(request.toString()).isTrue();
    }

    private static JsonNode predicate(String runId) {
        TestGateway.Response provenance = soma.gateway.send("GET", "/v1/runs/%s/provenance".formatted(runId), acme.apiKey(), null);
        assertThat(provenance.status()).as(provenance.raw().body()).isEqualTo(200);
        return Json.mapper().readTree(Base64.getDecoder().decode(provenance.json().get("payload").asString())).get("predicate");
    }
}
