package io.somastack.models.internal;

import static io.somastack.models.SchemaAssertions.assertMatchesSchema;
import static io.somastack.models.SchemaAssertions.schema;
import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Clock;
import io.somastack.models.ChatChunk;
import io.somastack.models.ChatMessage;
import io.somastack.models.ChatRequest;
import io.somastack.models.ChatResult;
import io.somastack.models.CompletionUsage;
import io.somastack.models.ProviderConfig;
import io.somastack.models.ResponseFormat;
import io.somastack.models.TestModel;
import io.somastack.models.ToolCall;
import io.somastack.models.ToolChoice;
import io.somastack.models.ToolDefinition;
import io.somastack.models.Usage;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The local provider on the real tiny model (stories260K), greedy decoding; requests whose texts
 * are compared across calls carry a seed, which is how a client asks for repeatable output.
 */
class LocalProviderTest {
    private static final String WEATHER_SCHEMA = """
            {"type": "object",
             "properties": {"city": {"type": "string", "maxLength": 10},
                            "days": {"type": "integer", "minimum": 1, "maximum": 7}},
             "required": ["city", "days"]}""";
    private static LocalProvider provider;

    @BeforeAll
    static void loadModel() {
        provider = new LocalProvider(ProviderConfig.local("local", TestModel.path(), 512, 1), Clock.system());
    }

    @AfterAll
    static void closeModel() {
        if (provider != null) {
            provider.close();
        }
    }

    @Test
    void completesWithUsageCountedByTheModelTokenizer() {
        ChatRequest request = story(16);

        ChatResult result = provider.complete(request, "stories260K");

        // llama.cpp itself reports n_prompt_tokens = 23 for this prompt: 22 from encode plus BOS.
        assertThat(LocalPrompt.render(request, List.of())).isEqualTo("user: Tell me a story\nassistant:");
        assertThat(result.usage()).isEqualTo(new Usage(23, 16, false));
        assertThat(provider.countPromptTokens(request)).isEqualTo(23);
        assertThat(result.completion().finishReason()).isEqualTo("length");
        assertThat(result.completion().message().text()).isNotBlank();
        assertThat(result.completion().usage()).isEqualTo(new CompletionUsage(23, 16, 39));
        assertThat(result.provider()).isEqualTo("local");
        assertThat(result.model()).isEqualTo("stories260K");
    }

    @Test
    void streamsContentChunksThenFinishAndUsage() {
        ChatRequest request = seededStory(16).withStream(true, new ChatRequest.StreamOptions(true));
        List<ChatChunk> chunks = new ArrayList<>();

        ChatResult result = provider.stream(request, "stories260K", chunks::add);

        assertThat(chunks.getFirst().delta().role()).isEqualTo("assistant");
        String streamed = chunks.stream().map(ChatChunk::delta).filter(Objects::nonNull)
                .map(ChatChunk.Delta::content).filter(Objects::nonNull).collect(Collectors.joining());
        assertThat(streamed).isNotBlank().isEqualTo(result.completion().message().text());
        assertThat(chunks.get(chunks.size() - 2).choices().getFirst().finishReason()).isEqualTo("length");
        ChatChunk usageChunk = chunks.getLast();
        assertThat(usageChunk.choices()).isEmpty();
        assertThat(usageChunk.usage()).isEqualTo(new CompletionUsage(23, 16, 39));
        assertThat(result.usage()).isEqualTo(new Usage(23, 16, false));
        assertThat(result.clientGone()).isFalse();
        assertThat(streamed).isEqualTo(provider.complete(seededStory(16), "stories260K").completion().message().text());
    }

    @Test
    void stopsGeneratingWhenTheClientDisconnectsAndBillsOnlyWhatWasGenerated() {
        ChatRequest request = story(48).withStream(true, null);
        List<ChatChunk> delivered = new ArrayList<>();

        ChatResult result = provider.stream(request, "stories260K", chunk -> {
            delivered.add(chunk);
            return delivered.size() < 2;
        });

        assertThat(result.clientGone()).isTrue();
        assertThat(delivered).hasSize(2);
        assertThat(result.usage().inputTokens()).isEqualTo(23);
        assertThat(result.usage().outputTokens()).isBetween(1, 3);
        assertThat(result.usage().estimated()).isFalse();
        assertThat(result.completion().message().text()).isEqualTo(delivered.get(1).delta().content());
        // The cancelled generation left the engine ready for the next request.
        assertThat(provider.complete(story(16), "stories260K").usage().outputTokens()).isEqualTo(16);
    }

    @Test
    void servesConcurrentRequestsOneAtATime() throws Exception {
        String expected = provider.complete(seededStory(16), "stories260K").completion().message().text();
        List<Future<ChatResult>> results = new ArrayList<>();
        try (ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int caller = 0; caller < 4; caller++) {
                results.add(callers.submit(() -> provider.complete(seededStory(16), "stories260K")));
            }
        }

        for (Future<ChatResult> result : results) {
            assertThat(result.get().completion().message().text()).isEqualTo(expected);
            assertThat(result.get().usage()).isEqualTo(new Usage(23, 16, false));
        }
    }

    @Test
    void forcedToolCallReturnsArgumentsMatchingTheToolSchema() {
        ToolDefinition weather = ToolDefinition.function("get_weather", "Weather forecast for a city", schema(WEATHER_SCHEMA));
        ToolDefinition time = ToolDefinition.function("get_time", "Current time", schema("""
                {"type": "object", "properties": {"zone": {"type": "string", "enum": ["UTC", "CET"]}}, "required": ["zone"]}"""));
        ChatRequest request = withTools(ChatRequest.of("local", List.of(ChatMessage.of("user", "Weather in Paris?"))),
                List.of(time, weather), ToolChoice.function("get_weather"));

        ChatResult result = provider.complete(request, "stories260K");

        assertThat(result.completion().finishReason()).isEqualTo("tool_calls");
        ToolCall call = result.completion().message().toolCalls().getFirst();
        assertThat(call.id()).startsWith("call_");
        assertThat(call.type()).isEqualTo("function");
        assertThat(call.function().name()).isEqualTo("get_weather");
        assertMatchesSchema(call.function().arguments(), schema(WEATHER_SCHEMA));
        assertThat(result.usage().outputTokens()).isLessThan(128);
    }

    @Test
    void requiredToolChoiceStreamsOneCompleteToolCall() {
        ToolDefinition weather = ToolDefinition.function("get_weather", null, schema(WEATHER_SCHEMA));
        ChatRequest request = withTools(ChatRequest.of("local", List.of(ChatMessage.of("user", "Weather?"))),
                List.of(weather), ToolChoice.REQUIRED).withStream(true, null);
        List<ChatChunk> chunks = new ArrayList<>();

        ChatResult result = provider.stream(request, "stories260K", chunks::add);

        ToolCall start = chunks.get(1).delta().toolCalls().getFirst();
        assertThat(start.index()).isZero();
        assertThat(start.function().name()).isEqualTo("get_weather");
        assertThat(chunks.getLast().choices().getFirst().finishReason()).isEqualTo("tool_calls");
        ToolCall assembled = result.completion().message().toolCalls().getFirst();
        assertThat(assembled.id()).isEqualTo(start.id());
        assertMatchesSchema(assembled.function().arguments(), schema(WEATHER_SCHEMA));
    }

    @Test
    void jsonSchemaResponseFormatReturnsJsonMatchingTheSchema() {
        JsonNode schema = schema("""
                {"type": "object",
                 "properties": {"title": {"type": "string", "maxLength": 12}, "happy": {"type": "boolean"}},
                 "required": ["title", "happy"]}""");
        ChatRequest request = withFormat(ChatRequest.of("local", List.of(ChatMessage.of("user", "Name a story"))),
                ResponseFormat.jsonSchema("story", schema));

        ChatResult result = provider.complete(request, "stories260K");

        assertThat(result.completion().finishReason()).isEqualTo("stop");
        JsonNode answer = assertMatchesSchema(result.completion().message().text(), schema);
        assertThat(answer.path("title").isString()).isTrue();
    }

    private static ChatRequest story(int maxTokens) {
        return story(maxTokens, null);
    }

    /** A seed asks for output that does not depend on what the engine's prompt cache holds. */
    private static ChatRequest seededStory(int maxTokens) {
        return story(maxTokens, 42L);
    }

    private static ChatRequest story(int maxTokens, Long seed) {
        ChatRequest base = ChatRequest.of("local", List.of(ChatMessage.of("user", "Tell me a story")));
        return new ChatRequest(base.model(), base.messages(), null, null, maxTokens, null, 0.0, null, null, null,
                null, null, null, null, seed, null, null, null, null, null);
    }

    private static ChatRequest withTools(ChatRequest base, List<ToolDefinition> tools, ToolChoice choice) {
        return new ChatRequest(base.model(), base.messages(), null, null, 128, null, 0.0, null, null, null,
                tools, choice, null, null, null, null, null, null, null, null).validate();
    }

    private static ChatRequest withFormat(ChatRequest base, ResponseFormat format) {
        return new ChatRequest(base.model(), base.messages(), null, null, 128, null, 0.0, null, null, null,
                null, null, format, null, null, null, null, null, null, null).validate();
    }
}
