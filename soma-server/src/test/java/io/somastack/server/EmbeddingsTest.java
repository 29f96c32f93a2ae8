package io.somastack.server;

import static io.somastack.server.TestServer.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** {@code POST /v1/embeddings} with the real local embedding model, metered into the ledger. */
class EmbeddingsTest {
    private static TestServer soma;

    @BeforeAll
    static void start() {
        soma = TestServer.start("""
                prices:
                  - model: all-minilm-l6-v2-q
                    input_per_million: "0.02"
                    output_per_million: "0"
                """);
    }

    @AfterAll
    static void stop() {
        // null when start() was skipped because the test model is absent
        if (soma != null) {
            soma.close();
        }
    }

    @Test
    void embedsAsFloatsOrBase64AndBillsTheTokensTheModelRead() {
        String key = soma.key(soma.tenant("embed-co", ""), "{}");

        TestServer.Response floats = soma.post("/v1/embeddings", key,
                "{\"model\":\"all-minilm-l6-v2-q\",\"input\":[\"The cat sat on the mat\",\"Invoices go to billing\"]}");
        TestServer.Response encoded = soma.post("/v1/embeddings", key,
                "{\"model\":\"all-minilm-l6-v2-q\",\"input\":\"The cat sat on the mat\",\"encoding_format\":\"base64\"}");

        assertThat(floats.status()).as(floats.body()).isEqualTo(200);
        JsonNode first = floats.json().get("data").get(0).get("embedding");
        assertThat(first.size()).isEqualTo(384);
        float[] decoded = new float[384];
        ByteBuffer.wrap(Base64.getDecoder().decode(encoded.json().get("data").get(0).get("embedding").asString()))
                .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(decoded);
        assertThat(decoded[0]).isEqualTo(first.get(0).floatValue());
        assertThat(decoded[383]).isEqualTo(first.get(383).floatValue());
        long tokens = floats.json().get("usage").get("prompt_tokens").asLong() + encoded.json().get("usage").get("prompt_tokens").asLong();
        assertThat(tokens).isPositive();
        JsonNode ledger = soma.get("/v1/usage?group_by=model", key).json().get("data").get(0);
        assertThat(ledger.get("model").asString()).isEqualTo("all-minilm-l6-v2-q");
        assertThat(ledger.get("calls").asLong()).isEqualTo(2);
        assertThat(ledger.get("input_tokens").asLong()).isEqualTo(tokens);
    }

    @Test
    void badRequestsAreProblemsAndBillNothing() {
        String key = soma.key(soma.tenant("embed-bad", ""), "{}");

        assertProblem(soma.post("/v1/embeddings", key, "{\"model\":\"text-embedding-3-small\",\"input\":\"x\"}"), 400, "unknown-model");
        assertProblem(soma.post("/v1/embeddings", key, "{\"model\":\"all-minilm-l6-v2-q\",\"input\":[]}"), 400, "invalid-request");
        assertProblem(soma.post("/v1/embeddings", key, "{\"model\":\"all-minilm-l6-v2-q\",\"input\":[[1,2,3]]}"), 400, "invalid-request");
        assertProblem(soma.post("/v1/embeddings", key, "{\"model\":\"all-minilm-l6-v2-q\",\"input\":\"x\",\"dimensions\":128}"), 400, "invalid-request");
        assertProblem(soma.post("/v1/embeddings", key, "{\"model\":\"all-minilm-l6-v2-q\",\"input\":\"x\",\"colour\":1}"), 400, "unknown-field");

        assertThat(soma.get("/v1/usage", key).json().get("data")).isEmpty();
    }
}
