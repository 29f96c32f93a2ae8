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

    @Test
    void storedMemoryIsMeteredIntoTheLedgerInMegabyteHours() throws Exception {
        String config = """
                memory:
                  storage:
                    meter-interval: 1s
                    price-per-mb-hour: "1000"
                """;
        try (TestServer soma = TestServer.start(config)) {
            String key = soma.key(soma.tenant("storage-co", ""), "{}");
            assertThat(soma.post("/v1/memories", key, """
                    {"text": "The quarterly report is due on the first Monday of the month", "scope": {"kind": "tenant"},
                     "provenance": {"kind": "user", "reference": "u-1"}}""").status()).isIn(200, 201);

            JsonNode storage = null;
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (storage == null && System.nanoTime() < deadline) {
                Thread.sleep(500);
                for (JsonNode row : soma.get("/v1/usage?group_by=model", key).json().get("data")) {
                    if (row.get("model").asString().equals("memory-storage")) {
                        storage = row;
                    }
                }
            }
            assertThat(storage).as("a memory-storage row in /v1/usage within 20 s").isNotNull();
            assertThat(new java.math.BigDecimal(storage.get("cost").asString())).isPositive();
            assertThat(storage.get("input_tokens").asLong()).isZero();
        }
    }
}
