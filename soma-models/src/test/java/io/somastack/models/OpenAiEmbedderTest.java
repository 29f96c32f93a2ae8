package io.somastack.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.within;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The OpenAI-compatible embedder against a local server speaking OpenAI's embeddings wire format (the real MiniLM behind it). */
class OpenAiEmbedderTest {
    private static MiniLmEmbedder local;
    private static OpenAiEmbeddingsWireFixture openAi;

    @BeforeAll
    static void start() {
        local = new MiniLmEmbedder();
        openAi = new OpenAiEmbeddingsWireFixture(local, 1536);
    }

    @AfterAll
    static void stop() {
        openAi.close();
    }

    private static OpenAiEmbedder embedder(URI baseUrl, OptionalInt dimension, int batch, Duration timeout) {
        return OpenAiEmbeddingsWireFixture.embedder(baseUrl, dimension, batch, timeout);
    }

    private static OpenAiEmbedder embedder() {
        return openAi.embedder();
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
        Embedder.Counted local = OpenAiEmbedderTest.local.embedCounted(texts);
        assertThat(counted.tokens()).isEqualTo(local.tokens()).isPositive();
        for (int i = 0; i < texts.size(); i++) {
            float[] vector = counted.vectors().get(i);
            assertThat(vector).hasSize(1536);
            assertThat(Embedder.similarity(vector, vector)).as("unit length").isCloseTo(1.0, within(1e-5));
            float[] prefix = Arrays.copyOf(vector, 384);
            assertThat(Embedder.similarity(prefix, local.vectors().get(i))).as("the same text's vector, in input order").isCloseTo(1.0, within(1e-5));
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
    void stopsAskingAProviderThatKeepsFailingUntilItsCircuitCloses() {
        URI closed = URI.create("http://127.0.0.1:%d/v1".formatted(freePort()));
        OpenAiEmbedder embedder = embedder(closed, OptionalInt.of(1536), 256, Duration.ofSeconds(2));
        for (int i = 0; i < ModelsConfig.CircuitBreaker.DEFAULTS.minimumCalls(); i++) {
            assertUpstream(() -> embedder.embed("hello"), ErrorCode.UPSTREAM_UNAVAILABLE, "cannot be reached");
        }

        assertUpstream(() -> embedder.embed("hello"), ErrorCode.UPSTREAM_UNAVAILABLE, "its circuit is open");
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
