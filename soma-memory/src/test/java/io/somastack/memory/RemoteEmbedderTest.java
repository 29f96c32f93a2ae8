package io.somastack.memory;

import static io.somastack.memory.TestMemory.caller;
import static io.somastack.memory.TestMemory.fact;
import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Clock;
import io.somastack.models.OpenAiEmbedder;
import io.somastack.models.OpenAiEmbeddingsWireFixture;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Memory over a remote OpenAI-compatible embedder (soma-models' {@link OpenAiEmbedder}), against
 * a local server speaking OpenAI's embeddings wire format.
 */
class RemoteEmbedderTest {
    private static OpenAiEmbeddingsWireFixture openAi;

    @BeforeAll
    static void start() {
        openAi = new OpenAiEmbeddingsWireFixture(TestMemory.embedder(), 1536);
    }

    @AfterAll
    static void stop() {
        openAi.close();
    }

    @Test
    void remembersAndRecallsEndToEndThroughTheOpenAiWire() {
        try (TestMemory soma = TestMemory.start(MemoryConfig.defaults(Path.of("target")), openAi.embedder(), Clock.system())) {
            Caller caller = caller(TestMemory.tenant());
            Scope scope = Scope.of("user", "olga");
            soma.remember(caller, fact("Olga is allergic to shellfish", scope));
            Remembered train = soma.remember(caller, fact("Olga takes the 7:40 train to Utrecht every weekday", scope));
            soma.remember(caller, fact("Olga's team ships on Thursdays", scope));
            soma.restart(false);

            List<Fact> facts = soma.recall(caller, "How does Olga commute to work?", RecallMode.VECTOR, scope);

            assertThat(facts.getFirst().memoryId()).isEqualTo(train.memoryId());
            assertThat(soma.memories().memory(caller, train.memoryId()).revisions().getFirst())
                    .satisfies(revision -> {
                        assertThat(revision.embeddingModel()).isEqualTo("text-embedding-3-small");
                        assertThat(revision.embeddingDimension()).isEqualTo(1536);
                    });
        }
    }

    @Test
    void aFailingProviderIsAProblemDocumentOverHttp() {
        try (TestMemory soma = TestMemory.start(MemoryConfig.defaults(Path.of("target")), openAi.embedder(), Clock.system());
                TestGateway gateway = new TestGateway(soma.database, soma.commit, soma.clock, soma.ids, soma.meters, soma.memory::routes)) {
            String key = gateway.tenantKey("initech", "memory:read", "memory:write");
            openAi.failNext(503, OpenAiEmbeddingsWireFixture.error("The engine is currently overloaded, please try again later", "server_error", null));

            TestGateway.Response response = gateway.send("POST", "/v1/memories", key, """
                    {"text": "Peter's stapler is red", "scope": {"kind": "user", "id": "peter"}, "provenance": {"kind": "conversation"}}""");

            assertThat(response.status()).as(response.raw().body()).isEqualTo(502);
            assertThat(response.header("Content-Type")).startsWith("application/problem+json");
            assertThat(response.json().get("type").asString()).isEqualTo("https://somastack.io/problems/upstream-error");
            assertThat(response.json().get("detail").asString()).contains("answered 503: The engine is currently overloaded");
            assertThat(soma.count("SELECT count(*) FROM memories")).isZero();
        }
    }

}
