package io.somastack.server;

import static io.somastack.server.TestServer.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Memory through the whole server: keys, scopes, read-your-writes, the recall record, and tenancy. */
class MemoryEndToEndTest {

    @Test
    void aRememberedFactIsRecalledAtOnceWithItsProvenanceAndOnlyByItsTenant() {
        try (TestServer soma = TestServer.start("")) {
            String key = soma.key(soma.tenant("memo-co", ""), "{}");
            String otherKey = soma.key(soma.tenant("other-co", ""), "{}");

            TestServer.Response remembered = soma.post("/v1/memories", key, """
                    {"text": "The staging database lives in eu-west-3", "scope": {"kind": "agent", "id": "ops"},
                     "tags": ["infra"], "provenance": {"kind": "tool", "reference": "call_42", "author": "ops"}}""");
            assertThat(remembered.status()).as(remembered.body()).isIn(200, 201);

            TestServer.Response recalled = soma.post("/v1/memories/recall", key, """
                    {"query": "where is the staging database?", "scopes": [{"kind": "agent", "id": "ops"}], "k": 3}""");
            assertThat(recalled.status()).as(recalled.body()).isEqualTo(200);
            JsonNode fact = recalled.json().get("facts").get(0);
            assertThat(fact.get("text").asString()).contains("eu-west-3");
            assertThat(fact.get("provenance").get("reference").asString()).isEqualTo("call_42");
            String recallId = recalled.json().get("recall_id").asString();
            JsonNode record = soma.get("/v1/recalls/" + recallId, key).json();
            assertThat(record.toString()).contains(fact.get("revision_id").asString());

            TestServer.Response foreign = soma.post("/v1/memories/recall", otherKey, """
                    {"query": "where is the staging database?", "scopes": [{"kind": "agent", "id": "ops"}], "k": 3}""");
            assertThat(foreign.json().get("facts")).isEmpty();
            assertProblem(soma.get("/v1/recalls/" + recallId, otherKey), 404, "not-found");
            String modelsOnly = soma.key(soma.tenant("scoped-co", ""), "{\"scopes\":[\"models:invoke\"]}");
            assertProblem(soma.post("/v1/memories/recall", modelsOnly, "{\"query\":\"x\",\"scopes\":[{\"kind\":\"tenant\"}]}"),
                    403, "insufficient-scope");
        }
    }
}
