package io.somastack.models.internal;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Json;
import io.somastack.models.ChatCompletion;
import io.somastack.models.ChatRequest;
import io.somastack.models.ChatResult;
import io.somastack.models.ModelProvider;
import io.somastack.models.ProviderConfig;
import io.somastack.models.StreamSink;
import io.somastack.models.Usage;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * The Anthropic Messages API ({@code POST {base}/v1/messages}, {@code anthropic-version:
 * 2023-06-01}), translated to and from the OpenAI shape by {@link AnthropicRequests},
 * {@link AnthropicResponses} and {@link AnthropicStream}. Usage is what Anthropic reports,
 * except for a stream the client left, whose output tokens are estimated. Thread-safe.
 */
public final class AnthropicProvider implements ModelProvider {
    static final String API_VERSION = "2023-06-01";

    private final String name;
    private final URI messagesUri;
    private final String apiKey;
    private final HttpUpstream http;
    private final TokenEstimator tokens;
    private final Clock clock;

    public AnthropicProvider(ProviderConfig config, TokenEstimator tokens, Clock clock) {
        this.name = config.name();
        this.messagesUri = URI.create(config.baseUrl() + "/v1/messages");
        this.apiKey = config.apiKey();
        this.http = new HttpUpstream(config.name(), config.baseUrl(), config.timeout());
        this.tokens = tokens;
        this.clock = clock;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return "anthropic";
    }

    @Override
    public ChatResult complete(ChatRequest request, String upstreamModel) {
        byte[] body = Json.bytes(AnthropicRequests.translate(request, upstreamModel, false));
        JsonNode message = WireJson.treeUpstream(new String(http.read(http.post(messagesUri, headers("application/json"), body)),
                StandardCharsets.UTF_8), name);
        Usage usage = AnthropicResponses.usage(message.path("usage"));
        ChatCompletion completion = AnthropicResponses.completion(message, clock.now().getEpochSecond(), usage);
        return new ChatResult(completion, usage, false, name, upstreamModel);
    }

    @Override
    public ChatResult stream(ChatRequest request, String upstreamModel, StreamSink sink) {
        byte[] body = Json.bytes(AnthropicRequests.translate(request, upstreamModel, true));
        HttpUpstream.Answer response = http.post(messagesUri, headers("text/event-stream"), body);
        StreamEmitter emitter = new StreamEmitter(sink, request.includeUsage(), Ids.completionId(),
                clock.now().getEpochSecond(), upstreamModel);
        AnthropicStream stream = new AnthropicStream(name, emitter);
        try (SseReader reader = new SseReader(response.body())) {
            SseReader.Event event;
            while (!stream.stopped() && (event = reader.next()) != null) {
                if (!stream.handle(event)) {
                    break;
                }
            }
        } catch (IOException e) {
            throw Upstream.unreachable(name, e);
        }
        if (!stream.stopped() && !emitter.gone()) {
            throw Upstream.failure(name, 0, true, "stream ended before message_stop", null);
        }
        Usage usage = stream.usage(tokens, emitter.gone() ? countPromptTokens(request) : 0);
        emitter.usage(usage);
        return new ChatResult(emitter.completion(usage), usage, emitter.gone(), name, upstreamModel);
    }

    @Override
    public int countPromptTokens(ChatRequest request) {
        return tokens.countPrompt(request);
    }

    @Override
    public void close() {
        http.close();
    }

    private Map<String, String> headers(String accept) {
        return Map.of("x-api-key", apiKey == null ? "" : apiKey, "anthropic-version", API_VERSION, "Accept", accept);
    }
}
