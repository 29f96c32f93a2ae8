package io.somastack.memory;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class MemoryRoutesTest {
    private static TestMemory soma;
    private static TestGateway gateway;

    @BeforeAll
    static void start() {
        soma = TestMemory.start();
        gateway = new TestGateway(soma.database, soma.commit, soma.clock, soma.ids, soma.meters, soma.memory::routes);
    }

    @AfterAll
    static void stop() {
        gateway.close();
        soma.close();
    }

    private static void assertProblem(TestGateway.Response response, int status, String type) {
        assertThat(response.status()).as(response.raw().body()).isEqualTo(status);
        assertThat(response.header("Content-Type")).startsWith("application/problem+json");
        assertThat(response.json().get("type").asString()).isEqualTo("https://somastack.io/problems/" + type);
        assertThat(response.json().get("instance").asString()).isEqualTo(response.header("X-Request-Id"));
    }

    @Test
    void remembersRecallsShowsAndDeletesOverHttp() {
        String key = gateway.tenantKey("acme", "memory:read", "memory:write");
        TestGateway.Response created = gateway.send("POST", "/v1/memories", key, """
                {"text": "Ivy's invoices go to billing@ivy.example", "scope": {"kind": "user", "id": "ivy"}, "tags": ["billing"],
                 "provenance": {"kind": "conversation", "reference": "turn-7", "author": "ivy", "observed_at": "2025-05-01T10:00:00Z"}}""");
        assertThat(created.status()).as(created.raw().body()).isEqualTo(201);
        String memoryId = created.json().get("memory_id").asString();
        assertThat(created.json().get("outcome").asString()).isEqualTo("created");

        TestGateway.Response recall = gateway.send("POST", "/v1/memories/recall", key, """
                {"query": "where do Ivy's invoices go?", "scopes": [{"kind": "user", "id": "ivy"}], "k": 3,
                 "filters": {"tags": ["billing"], "from": "2025-01-01T00:00:00Z"}, "mode": "hybrid"}""");
        assertThat(recall.status()).as(recall.raw().body()).isEqualTo(200);
        assertThat(recall.header("Server-Timing")).matches("embed;dur=\\d+\\.\\d{3}, search;dur=\\d+\\.\\d{3}, fetch;dur=\\d+\\.\\d{3}, "
                + "record;dur=\\d+\\.\\d{3}").doesNotContain("embed;dur=0.000");
        JsonNode fact = recall.json().get("facts").get(0);
        assertThat(fact.get("memory_id").asString()).isEqualTo(memoryId);
        assertThat(fact.get("text").asString()).isEqualTo("Ivy's invoices go to billing@ivy.example");
        assertThat(fact.get("provenance").get("reference").asString()).isEqualTo("turn-7");
        String recallId = recall.json().get("recall_id").asString();

        TestGateway.Response record = gateway.send("GET", "/v1/recalls/" + recallId, key, null);
        assertThat(record.status()).isEqualTo(200);
        assertThat(record.json().get("results").get(0).get("revision_id").asString()).isEqualTo(fact.get("revision_id").asString());
        assertThat(record.json().get("results").get(0).get("score").asDouble()).isEqualTo(fact.get("score").asDouble());

        TestGateway.Response shown = gateway.send("GET", "/v1/memories/" + memoryId, key, null);
        assertThat(shown.json().get("revisions").get(0).get("embedding_model").asString()).isEqualTo("all-minilm-l6-v2-q");

        TestGateway.Response deleted = gateway.send("DELETE", "/v1/memories/" + memoryId + "?reason=obsolete", key, null);
        assertThat(deleted.status()).isEqualTo(200);
        assertThat(deleted.json().get("deleted_at").isNull()).isFalse();
        assertThat(deleted.json().get("revisions").get(0).get("text").isNull()).isTrue();
    }

    @Test
    void honoursIdempotencyKeysAndForgetsByScope() {
        String key = gateway.tenantKey("globex", "*");
        String batch = """
                {"memories": [{"text": "Jon likes jazz", "scope": {"kind": "user", "id": "jon"}, "provenance": {"kind": "user"}},
                              {"text": "Jon's dog is called Rex", "scope": {"kind": "user", "id": "jon"}, "provenance": {"kind": "user"}}]}""";
        TestGateway.Response first = gateway.send("POST", "/v1/memories", key, batch, "Idempotency-Key", "batch-1");
        TestGateway.Response retry = gateway.send("POST", "/v1/memories", key, batch, "Idempotency-Key", "batch-1");
        assertThat(first.status()).isEqualTo(201);
        assertThat(retry.status()).isEqualTo(201);
        assertThat(retry.header("Idempotent-Replayed")).isEqualTo("true");
        assertThat(retry.raw().body()).isEqualTo(first.raw().body());
        assertProblem(gateway.send("POST", "/v1/memories", key, batch.replace("jazz", "blues"), "Idempotency-Key", "batch-1"), 409,
                "idempotency-key-reused");

        TestGateway.Response forgot = gateway.send("POST", "/v1/memories/forget", key, """
                {"scope": {"kind": "user", "id": "jon"}, "reason": "erasure request"}""");
        assertThat(forgot.json().get("forgotten").asInt()).isEqualTo(2);
        TestGateway.Response recall = gateway.send("POST", "/v1/memories/recall", key, """
                {"query": "jazz dog", "scopes": [{"kind": "user", "id": "jon"}]}""");
        assertThat(recall.json().get("facts").size()).isZero();
    }

    @Test
    void answersProblemsForBadInputAndForbiddenScopes() {
        String key = gateway.tenantKey("initech", "memory:read", "memory:write", "agent:alpha");
        String readOnly = gateway.tenantKey("umbrella", "memory:read");

        TestGateway.Response badBatch = gateway.send("POST", "/v1/memories", key, """
                {"memories": [{"text": "ok", "scope": {"kind": "agent", "id": "alpha"}, "provenance": {"kind": "agent"}},
                              {"text": "", "scope": {"kind": "agent", "id": "alpha"}, "provenance": {"kind": "agent"}},
                              {"text": "x", "scope": {"kind": "planet", "id": "mars"}, "provenance": {"kind": "agent"}},
                              {"text": "x", "scope": {"kind": "user", "id": "u"}, "provenance": {"kind": "rumour"}}]}""");
        assertProblem(badBatch, 400, "invalid-request");
        assertThat(badBatch.json().get("errors")).extracting(error -> error.get("index").asInt()).containsExactly(1, 2, 3);

        assertProblem(gateway.send("POST", "/v1/memories", key, """
                {"text": "secret", "scope": {"kind": "agent", "id": "beta"}, "provenance": {"kind": "agent"}}"""), 403, "insufficient-scope");
        assertProblem(gateway.send("POST", "/v1/memories/recall", key, """
                {"query": "secret", "scopes": [{"kind": "agent", "id": "beta"}]}"""), 403, "insufficient-scope");
        assertProblem(gateway.send("POST", "/v1/memories/recall", key, """
                {"query": "secret", "scopes": [{"kind": "tenant"}], "k": 0}"""), 400, "invalid-request");
        assertProblem(gateway.send("POST", "/v1/memories/recall", key, """
                {"query": "secret", "scopes": [{"kind": "tenant"}], "filters": {"from": "yesterday"}}"""), 400, "invalid-request");
        assertProblem(gateway.send("POST", "/v1/memories/recall", key, """
                {"query": "secret", "scopes": [{"kind": "tenant"}], "mood": "happy"}"""), 400, "unknown-field");
        assertProblem(gateway.send("POST", "/v1/memories", readOnly, """
                {"text": "x", "scope": {"kind": "tenant"}, "provenance": {"kind": "agent"}}"""), 403, "insufficient-scope");
        assertProblem(gateway.send("GET", "/v1/memories/not-a-uuid", key, null), 400, "invalid-request");
        assertProblem(gateway.send("GET", "/v1/memories/01a21218-f3d0-7763-b817-c3cbddd9395a", key, null), 404, "not-found");
        assertProblem(gateway.send("POST", "/v1/memories/recall", null, "{}"), 401, "missing-credentials");
    }
}
