package io.somastack.models;

import static io.somastack.models.SchemaAssertions.schema;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The OpenAI-compatible provider against {@link OpenAiWireFixture}. */
class OpenAiProviderTest {
    private final OpenAiWireFixture fixture = new OpenAiWireFixture("sk-test");
    private final ModelProvider provider = Models.provider(
            ProviderConfig.remote("openai", ProviderKind.OPENAI, fixture.baseUrl(), "sk-test", List.of()), new TestClock());

    @AfterEach
    void stop() {
        provider.close();
        fixture.close();
    }

    @Test
    void passesTheRequestThroughWithTheUpstreamModelAndReturnsReportedUsage() {
        ChatRequest request = ChatRequest.parse("""
                {"model": "smart", "messages": [{"role": "system", "content": "Be brief."},
                                                {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
                 "max_tokens": 50, "temperature": 0.2, "stop": "END", "seed": 7, "user": "u-1",
                 "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
                 "tool_choice": "auto", "response_format": {"type": "json_object"}}""".getBytes(StandardCharsets.UTF_8));
        fixture.enqueue(new FixtureReply.Text("Hello there", 21, 3));

        ChatResult result = provider.complete(request, "gpt-4o-mini");

        WireFixtureServer.RecordedRequest sent = fixture.lastRequest();
        assertThat(sent.headers()).containsEntry("authorization", "Bearer sk-test");
        assertThat(sent.body().path("model").asString()).isEqualTo("gpt-4o-mini");
        assertThat(sent.body().path("stream").asBoolean()).isFalse();
        assertThat(sent.body().has("stream_options")).isFalse();
        assertThat(sent.body().path("stop")).isEqualTo(schema("[\"END\"]"));
        assertThat(sent.body().path("messages").get(1).path("content")).isEqualTo(schema("[{\"type\":\"text\",\"text\":\"Hi\"}]"));
        assertThat(sent.body().path("tools")).isEqualTo(Json.mapper().valueToTree(request.tools()));
        assertThat(sent.body().path("tool_choice").asString()).isEqualTo("auto");
        assertThat(sent.body().path("response_format").path("type").asString()).isEqualTo("json_object");
        assertThat(result.completion().message().text()).isEqualTo("Hello there");
        assertThat(result.completion().finishReason()).isEqualTo("stop");
        assertThat(result.usage()).isEqualTo(new Usage(21, 3, false));
        assertThat(result.provider()).isEqualTo("openai");
        assertThat(result.model()).isEqualTo("gpt-4o-mini");
    }

    @Test
    void returnsToolCallsOfANonStreamedAnswer() {
        fixture.enqueue(new FixtureReply.ToolUse("get_weather", "{\"city\":\"Paris\"}", 40, 9));

        ChatResult result = provider.complete(question(), "gpt-4o");

        assertThat(result.completion().finishReason()).isEqualTo("tool_calls");
        assertThat(result.completion().message().content()).isNull();
        ToolCall call = result.completion().message().toolCalls().getFirst();
        assertThat(call.function().name()).isEqualTo("get_weather");
        assertThat(call.function().arguments()).isEqualTo("{\"city\":\"Paris\"}");
    }

    @Test
    void streamsChunksAndTheUsageChunkTheClientAskedFor() {
        fixture.enqueue(new FixtureReply.Text("One two three", 15, 3));
        List<ChatChunk> chunks = new ArrayList<>();

        ChatResult result = provider.stream(question().withStream(true, new ChatRequest.StreamOptions(true)), "gpt-4o", chunks::add);

        assertThat(fixture.lastRequest().body().path("stream_options").path("include_usage").asBoolean()).isTrue();
        assertThat(chunks.getFirst().delta().role()).isEqualTo("assistant");
        assertThat(content(chunks)).isEqualTo("One two three");
        assertThat(chunks.get(chunks.size() - 2).choices().getFirst().finishReason()).isEqualTo("stop");
        assertThat(chunks.getLast().choices()).isEmpty();
        assertThat(chunks.getLast().usage()).isEqualTo(new CompletionUsage(15, 3, 18));
        assertThat(chunks).allSatisfy(chunk -> assertThat(chunk.object()).isEqualTo("chat.completion.chunk"));
        assertThat(result.usage()).isEqualTo(new Usage(15, 3, false));
        assertThat(result.completion().message().text()).isEqualTo("One two three");
    }

    @Test
    void asksUpstreamForUsageButSendsNoUsageChunkToAClientThatDidNotAsk() {
        fixture.enqueue(new FixtureReply.Text("Quiet answer", 11, 2));
        List<ChatChunk> chunks = new ArrayList<>();

        ChatResult result = provider.stream(question().withStream(true, null), "gpt-4o", chunks::add);

        assertThat(fixture.lastRequest().body().path("stream_options").path("include_usage").asBoolean()).isTrue();
        assertThat(chunks).allSatisfy(chunk -> assertThat(chunk.usage()).isNull());
        assertThat(result.usage()).isEqualTo(new Usage(11, 2, false));
    }

    @Test
    void assemblesStreamedToolCallFragments() {
        fixture.enqueue(new FixtureReply.ToolUse("get_weather", "{\"city\":\"Paris\",\"days\":3}", 40, 12));
        List<ChatChunk> chunks = new ArrayList<>();

        ChatResult result = provider.stream(question().withStream(true, null), "gpt-4o", chunks::add);

        assertThat(chunks.getFirst().delta().toolCalls().getFirst().function().name()).isEqualTo("get_weather");
        ToolCall call = result.completion().message().toolCalls().getFirst();
        assertThat(call.id()).startsWith("call_fixture");
        assertThat(call.function().arguments()).isEqualTo("{\"city\":\"Paris\",\"days\":3}");
        assertThat(result.completion().finishReason()).isEqualTo("tool_calls");
    }

    @Test
    void closesTheUpstreamConnectionWhenTheClientLeavesAndEstimatesUsage() throws InterruptedException {
        fixture.enqueue(new FixtureReply.SlowText(500, Duration.ofMillis(10)));
        List<ChatChunk> delivered = new ArrayList<>();

        ChatResult result = provider.stream(question().withStream(true, null), "gpt-4o", chunk -> {
            delivered.add(chunk);
            return delivered.size() < 3;
        });

        assertThat(result.clientGone()).isTrue();
        assertThat(delivered).hasSize(3);
        assertThat(fixture.awaitClientDisconnect(Duration.ofSeconds(5))).isTrue();
        assertThat(result.usage().estimated()).isTrue();
        assertThat(result.usage().inputTokens()).isEqualTo(provider.countPromptTokens(question()));
        assertThat(result.usage().outputTokens()).isBetween(1, 4);
        assertThat(result.completion().message().text()).isEqualTo(content(delivered));
    }

    @Test
    void reportsRateLimitsAndServerErrorsAsRetryableAndBadRequestsAsFinal() {
        fixture.enqueue(new FixtureReply.Failure(429), new FixtureReply.Failure(500), new FixtureReply.Failure(400));

        assertUpstreamError(() -> provider.complete(question(), "gpt-4o"), 429, true, "Rate limit reached");
        assertUpstreamError(() -> provider.stream(question(), "gpt-4o", chunk -> true), 500, true, "server had an error");
        assertUpstreamError(() -> provider.complete(question(), "gpt-4o"), 400, false, "Invalid request");
    }

    @Test
    void reportsAWrongApiKeyAsAFinalUpstreamError() {
        ModelProvider wrongKey = Models.provider(
                ProviderConfig.remote("openai", ProviderKind.OPENAI, fixture.baseUrl(), "sk-wrong", List.of()), new TestClock());
        try (wrongKey) {
            assertUpstreamError(() -> wrongKey.complete(question(), "gpt-4o"), 401, false, "Incorrect API key");
        }
    }

    @Test
    void reportsAnUnreachableUpstreamAsRetryable() {
        ModelProvider unreachable = Models.provider(ProviderConfig.remote("openai", ProviderKind.OPENAI,
                URI.create("http://127.0.0.1:1/v1"), "sk-test", List.of()), new TestClock());
        try (unreachable) {
            assertThatThrownBy(() -> unreachable.complete(question(), "gpt-4o"))
                    .isInstanceOfSatisfying(SomaException.class, failure -> {
                        assertThat(failure.code()).isEqualTo(ErrorCode.UPSTREAM_ERROR);
                        assertThat(failure.extensions()).containsEntry("retryable", true).doesNotContainKey("upstream_status");
                    });
        }
    }

    static void assertUpstreamError(Runnable call, int status, boolean retryable, String message) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(SomaException.class, failure -> {
            assertThat(failure.code()).isEqualTo(ErrorCode.UPSTREAM_ERROR);
            assertThat(failure.extensions()).containsEntry("upstream_status", status).containsEntry("retryable", retryable);
            assertThat(failure.detail()).contains(message);
        });
    }

    static String content(List<ChatChunk> chunks) {
        return chunks.stream().map(ChatChunk::delta).filter(Objects::nonNull)
                .map(ChatChunk.Delta::content).filter(Objects::nonNull).collect(Collectors.joining());
    }

    private static ChatRequest question() {
        return ChatRequest.of("smart", List.of(ChatMessage.of("user", "What is the weather in Paris?")));
    }
}
