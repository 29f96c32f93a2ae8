package io.somastack.memory;

import static io.somastack.memory.TestMemory.caller;
import static io.somastack.memory.TestMemory.fact;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.within;

import io.somastack.gateway.TestGateway;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.memory.internal.Vectors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The OpenAI-compatible embedder against a local server speaking OpenAI's embeddings wire format. */
class OpenAiEmbedderTest {
    private static OpenAiEmbeddingsWireFixture openAi;

    @BeforeAll
    static void start() {
        openAi = new OpenAiEmbeddingsWireFixture(TestMemory.embedder(), 1536);
    }

    @AfterAll
    static void stop() {
        openAi.close();
    }

    private static OpenAiEmbedder embedder(URI baseUrl, OptionalInt dimension, int batch, Duration timeout) {
        EmbedderConfig config = EmbedderConfig.openAi(baseUrl, OpenAiEmbeddingsWireFixture.MODEL, Optional.of("SOMA_TEST_OPENAI_KEY"), dimension)
                .withBatch(batch, timeout);
        return new OpenAiEmbedder(config, Optional.of(OpenAiEmbeddingsWireFixture.API_KEY));
    }

    private static OpenAiEmbedder embedder() {
        return embedder(openAi.baseUrl(), OptionalInt.of(1536), 256, Duration.ofSeconds(10));
    }

    @Test
    void remembersAndRecallsEndToEndThroughTheOpenAiWire() {
        try (TestMemory soma = TestMemory.start(MemoryConfig.defaults(Path.of("target")), embedder(), Clock.system())) {
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
    void sendsBatchesOfAtMostTheConfiguredSizeWithTheKeyAndReadsUnitVectorsInInputOrder() {
        OpenAiEmbedder embedder = embedder(openAi.baseUrl(), OptionalInt.of(1536), 3, Duration.ofSeconds(10));
        List<String> texts = List.of("the cat sleeps", "a rocket launches", "bread is baking", "rain on the window", "the stock market fell",
                "a violin concerto", "snow in the mountains");
        int before = openAi.requests().size();

        Embedder.Counted counted = embedder.embedCounted(texts);

        List<OpenAiEmbeddingsWireFixture.Request> sent = openAi.requests().subList(before, openAi.requests().size());
        assertThat(sent).extracting(OpenAiEmbeddingsWireFixture.Request::inputs).containsExactly(3, 3, 1);
        assertThat(sent).allSatisfy(request -> {
            assertThat(request.authorization()).isEqualTo("Bearer " + OpenAiEmbeddingsWireFixture.API_KEY);
            assertThat(request.model()).isEqualTo("text-embedding-3-small");
            assertThat(request.encodingFormat()).isEqualTo("float");
        });
        Embedder.Counted local = TestMemory.embedder().embedCounted(texts);
        assertThat(counted.tokens()).isEqualTo(local.tokens()).isPositive();
        for (int i = 0; i < texts.size(); i++) {
            float[] vector = counted.vectors().get(i);
            assertThat(vector).hasSize(1536);
            assertThat(Vectors.dot(vector, vector)).as("unit length").isCloseTo(1.0, within(1e-5));
            float[] prefix = Arrays.copyOf(vector, 384);
            assertThat(Vectors.dot(prefix, local.vectors().get(i))).as("the same text's vector, in input order").isCloseTo(1.0, within(1e-5));
        }
    }

    @Test
    void learnsTheDimensionFromTheFirstAnswerAndRefusesAnotherOneLater() {
        OpenAiEmbedder embedder = embedder(openAi.baseUrl(), OptionalInt.empty(), 256, Duration.ofSeconds(10));
        try {
            assertThat(embedder.dimension()).isEqualTo(1536);
            openAi.answerWithDimension(768);

            assertUpstream(() -> embedder.embed("anything"), ErrorCode.UPSTREAM_ERROR, "embedding 0 has 768 dimensions, expected 1536");
        } finally {
            openAi.answerWithDimension(1536);
        }
    }

    @Test
    void reportsTheProvidersErrorWithoutTheKey() {
        OpenAiEmbedder wrongKey = new OpenAiEmbedder(EmbedderConfig.openAi(openAi.baseUrl(), OpenAiEmbeddingsWireFixture.MODEL,
                Optional.of("SOMA_TEST_OPENAI_KEY"), OptionalInt.of(1536)), Optional.of("sk-wrong-key-42"));

        SomaException refused = assertUpstream(() -> wrongKey.embed("hello"), ErrorCode.UPSTREAM_ERROR,
                "answered 401: Incorrect API key provided", "$SOMA_TEST_OPENAI_KEY");
        assertThat(refused.detail()).doesNotContain("sk-wrong-key-42");
        assertThat(refused.extensions()).containsEntry("upstream_status", 401);

        openAi.failNext(500, OpenAiEmbeddingsWireFixture.error("The server had an error while processing your request.", "server_error", null));
        assertUpstream(() -> embedder().embed("hello"), ErrorCode.UPSTREAM_ERROR, "answered 500: The server had an error");
        openAi.failNext(429, "Too Many Requests");
        assertUpstream(() -> embedder().embed("hello"), ErrorCode.UPSTREAM_ERROR, "answered 429: Too Many Requests");
    }

    @Test
    void reportsATimeoutAndAnUnreachableProvider() {
        openAi.stallNext(Duration.ofSeconds(3));
        assertUpstream(() -> embedder(openAi.baseUrl(), OptionalInt.of(1536), 256, Duration.ofMillis(300)).embed("hello"),
                ErrorCode.UPSTREAM_UNAVAILABLE, "did not answer within 300 ms");

        URI closed = URI.create("http://127.0.0.1:%d/v1".formatted(freePort()));
        assertUpstream(() -> embedder(closed, OptionalInt.of(1536), 256, Duration.ofSeconds(2)).embed("hello"),
                ErrorCode.UPSTREAM_UNAVAILABLE, "cannot be reached");
    }

    @Test
    void refusesAnswersThatAreNotEmbeddingsAnswers() {
        assertMalformed("<html>Bad gateway</html>", "the body is not JSON");
        assertMalformed("{\"object\": \"list\"}", "it has no data array");
        assertMalformed("{\"data\": []}", "data holds 0 embeddings for 1 inputs");
        assertMalformed("{\"data\": [{\"index\": 3, \"embedding\": [0.5]}]}", "data[].index must name each input 0..0 once");
        assertMalformed("{\"data\": [{\"index\": 0, \"embedding\": \"AACAPwAAAEA=\"}]}", "data[0].embedding is not a non-empty array");
        assertMalformed("{\"data\": [{\"index\": 0, \"embedding\": [0.5, \"x\"]}]}", "data[0].embedding[1] is not a number");
    }

    @Test
    void countingNeedsTheUsageThatPlainEmbeddingDoesNot() {
        String withoutUsage = "{\"data\": [{\"index\": 0, \"embedding\": [3, 4]}]}";
        OpenAiEmbedder embedder = embedder(openAi.baseUrl(), OptionalInt.of(2), 256, Duration.ofSeconds(10));

        openAi.failNext(200, withoutUsage);
        assertThat(embedder.embed("hello")).containsExactly(0.6f, 0.8f);
        openAi.failNext(200, withoutUsage);
        assertUpstream(() -> embedder.embedCounted(List.of("hello")), ErrorCode.UPSTREAM_ERROR, "without usage.prompt_tokens");
    }

    @Test
    void aFailingProviderIsAProblemDocumentOverHttp() {
        try (TestMemory soma = TestMemory.start(MemoryConfig.defaults(Path.of("target")), embedder(), Clock.system());
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

    private static void assertMalformed(String body, String expected) {
        openAi.failNext(200, body);
        assertUpstream(() -> embedder().embed("hello"), ErrorCode.UPSTREAM_ERROR, "is not an embeddings answer: " + expected);
    }

    private static SomaException assertUpstream(ThrowingCallable call, ErrorCode code, String... expected) {
        Throwable thrown = catchThrowable(call);
        assertThat(thrown).isInstanceOf(SomaException.class);
        SomaException failure = (SomaException) thrown;
        assertThat(failure.code()).isEqualTo(code);
        assertThat(failure.detail()).contains(OpenAiEmbeddingsWireFixture.MODEL).contains(expected);
        return failure;
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
