package io.somastack.models;

import static io.somastack.models.OpenAiProviderTest.assertUpstreamError;
import static io.somastack.models.OpenAiProviderTest.content;
import static io.somastack.models.SchemaAssertions.schema;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The Anthropic provider against {@link AnthropicWireFixture}: translation both ways, streams, errors. */
class AnthropicProviderTest {
    private static final String WEATHER = """
            {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}""";
    private final AnthropicWireFixture fixture = new AnthropicWireFixture("sk-ant-test");
    private final ModelProvider provider = Models.provider(ProviderConfig.remote("anthropic", ProviderKind.ANTHROPIC,
            fixture.root(), "sk-ant-test", List.of()), new TestClock());

    @AfterEach
    void stop() {
        provider.close();
        fixture.close();
    }

    @Test
    void translatesAConversationWithToolUseToTheMessagesApi() {
        ChatRequest request = ChatRequest.parse("""
                {"model": "claude", "temperature": 1.5, "stop": ["END"], "user": "u-7", "tool_choice": "required",
                 "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Forecast",
                            "parameters": %s}}],
                 "messages": [
                   {"role": "system", "content": "Be brief."},
                   {"role": "developer", "content": "Use metric units."},
                   {"role": "user", "content": "Weather in Paris?"},
                   {"role": "assistant", "content": null, "tool_calls": [{"id": "toolu_1", "type": "function",
                      "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}}]},
                   {"role": "tool", "tool_call_id": "toolu_1", "content": "18 degrees"},
                   {"role": "user", "content": "And tomorrow?"}]}""".formatted(WEATHER).getBytes(StandardCharsets.UTF_8));
        fixture.enqueue(new FixtureReply.Text("Sunny, 20 degrees.", 88, 7));

        ChatResult result = provider.complete(request, "claude-sonnet-4-5");

        WireFixtureServer.RecordedRequest sent = fixture.lastRequest();
        assertThat(sent.headers()).containsEntry("x-api-key", "sk-ant-test").containsEntry("anthropic-version", "2023-06-01");
        JsonNode body = sent.body();
        assertThat(body.path("model").asString()).isEqualTo("claude-sonnet-4-5");
        assertThat(body.path("max_tokens").asInt()).isEqualTo(1024);
        assertThat(body.path("system").asString()).isEqualTo("Be brief.\n\nUse metric units.");
        assertThat(body.path("temperature").asDouble()).isEqualTo(1.0);
        assertThat(body.path("stop_sequences")).isEqualTo(schema("[\"END\"]"));
        assertThat(body.path("metadata").path("user_id").asString()).isEqualTo("u-7");
        assertThat(body.path("tools")).isEqualTo(schema("""
                [{"name": "get_weather", "description": "Forecast", "input_schema": %s}]""".formatted(WEATHER)));
        assertThat(body.path("tool_choice")).isEqualTo(schema("{\"type\": \"any\"}"));
        assertThat(body.path("messages")).isEqualTo(schema("""
                [{"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
                 {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                                    "input": {"city": "Paris"}}]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 degrees"},
                                              {"type": "text", "text": "And tomorrow?"}]}]"""));
        assertThat(result.completion().message().text()).isEqualTo("Sunny, 20 degrees.");
        assertThat(result.completion().finishReason()).isEqualTo("stop");
        assertThat(result.usage()).isEqualTo(new Usage(88, 7, false));
        assertThat(result.completion().usage()).isEqualTo(new CompletionUsage(88, 7, 95));
    }

    @Test
    void mapsToolChoicesToAnthropicForms() {
        assertThat(sentToolChoice("\"auto\", \"parallel_tool_calls\": false"))
                .isEqualTo(schema("{\"type\": \"auto\", \"disable_parallel_tool_use\": true}"));
        assertThat(sentToolChoice("\"none\"")).isEqualTo(schema("{\"type\": \"none\"}"));
        assertThat(sentToolChoice("{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}"))
                .isEqualTo(schema("{\"type\": \"tool\", \"name\": \"get_weather\"}"));
    }

    @Test
    void turnsToolUseBlocksIntoToolCalls() {
        fixture.enqueue(new FixtureReply.ToolUse("get_weather", "{\"city\": \"Paris\"}", 50, 20));

        ChatResult result = provider.complete(question(), "claude-sonnet-4-5");

        assertThat(result.completion().finishReason()).isEqualTo("tool_calls");
        assertThat(result.completion().message().text()).isEqualTo("I'll check that.");
        ToolCall call = result.completion().message().toolCalls().getFirst();
        assertThat(call.id()).startsWith("toolu_");
        assertThat(schema(call.function().arguments())).isEqualTo(schema("{\"city\": \"Paris\"}"));
    }

    @Test
    void streamsTextEventsAsOpenAiChunksWithReportedUsage() {
        fixture.enqueue(new FixtureReply.Text("Hello from the stream", 25, 15));
        List<ChatChunk> chunks = new ArrayList<>();

        ChatResult result = provider.stream(question().withStream(true, new ChatRequest.StreamOptions(true)), "claude-x", chunks::add);

        assertThat(fixture.lastRequest().body().path("stream").asBoolean()).isTrue();
        assertThat(chunks.getFirst().delta().role()).isEqualTo("assistant");
        assertThat(content(chunks)).isEqualTo("Hello from the stream");
        assertThat(chunks.get(chunks.size() - 2).choices().getFirst().finishReason()).isEqualTo("stop");
        assertThat(chunks.getLast().usage()).isEqualTo(new CompletionUsage(25, 15, 40));
        assertThat(result.usage()).isEqualTo(new Usage(25, 15, false));
    }

    @Test
    void streamsToolUseAsToolCallDeltas() {
        fixture.enqueue(new FixtureReply.ToolUse("get_weather", "{\"city\": \"San Francisco\", \"unit\": \"celsius\"}", 60, 30));
        List<ChatChunk> chunks = new ArrayList<>();

        ChatResult result = provider.stream(question().withStream(true, null), "claude-x", chunks::add);

        ToolCall opening = chunks.stream().filter(chunk -> chunk.delta() != null && chunk.delta().toolCalls() != null)
                .findFirst().orElseThrow().delta().toolCalls().getFirst();
        assertThat(opening.index()).isZero();
        assertThat(opening.id()).isEqualTo("toolu_fixture1");
        assertThat(opening.function().name()).isEqualTo("get_weather");
        assertThat(content(chunks)).isEqualTo("I'll check that.");
        ToolCall assembled = result.completion().message().toolCalls().getFirst();
        assertThat(schema(assembled.function().arguments())).isEqualTo(schema("{\"city\": \"San Francisco\", \"unit\": \"celsius\"}"));
        assertThat(result.completion().finishReason()).isEqualTo("tool_calls");
        assertThat(result.usage()).isEqualTo(new Usage(60, 30, false));
    }

    @Test
    void closesTheStreamWhenTheClientLeavesAndEstimatesOnlyTheOutput() throws InterruptedException {
        fixture.enqueue(new FixtureReply.SlowText(500, Duration.ofMillis(10)));
        List<ChatChunk> delivered = new ArrayList<>();

        ChatResult result = provider.stream(question().withStream(true, null), "claude-x", chunk -> {
            delivered.add(chunk);
            return delivered.size() < 3;
        });

        assertThat(result.clientGone()).isTrue();
        assertThat(fixture.awaitClientDisconnect(Duration.ofSeconds(5))).isTrue();
        assertThat(result.usage().inputTokens()).isEqualTo(30);
        assertThat(result.usage().outputTokens()).isBetween(1, 4);
        assertThat(result.usage().estimated()).isTrue();
    }

    @Test
    void reportsOverloadRateLimitsAndStreamErrorsAsRetryable() {
        fixture.enqueue(new FixtureReply.Failure(529), new FixtureReply.Failure(429), new FixtureReply.StreamError(0),
                new FixtureReply.Failure(400));

        assertUpstreamError(() -> provider.complete(question(), "claude-x"), 529, true, "Overloaded");
        assertUpstreamError(() -> provider.stream(question(), "claude-x", chunk -> true), 429, true, "rate limit");
        assertUpstreamError(() -> provider.stream(question(), "claude-x", chunk -> true), 529, true, "overloaded_error");
        assertUpstreamError(() -> provider.complete(question(), "claude-x"), 400, false, "invalid_request_error");
    }

    private JsonNode sentToolChoice(String toolChoice) {
        ChatRequest request = ChatRequest.parse("""
                {"model": "claude", "messages": [{"role": "user", "content": "Hi"}], "tool_choice": %s,
                 "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": %s}}]}"""
                .formatted(toolChoice, WEATHER).getBytes(StandardCharsets.UTF_8));
        provider.complete(request, "claude-x");
        return fixture.lastRequest().body().path("tool_choice");
    }

    private static ChatRequest question() {
        return ChatRequest.of("claude", List.of(ChatMessage.of("user", "What is the weather in Paris?")));
    }
}
