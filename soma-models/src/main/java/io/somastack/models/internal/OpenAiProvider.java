package io.somastack.models.internal;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Json;
import io.somastack.models.ChatChunk;
import io.somastack.models.ChatCompletion;
import io.somastack.models.ChatRequest;
import io.somastack.models.ChatResult;
import io.somastack.models.CompletionUsage;
import io.somastack.models.ModelProvider;
import io.somastack.models.ProviderConfig;
import io.somastack.models.StreamSink;
import io.somastack.models.Usage;
import java.io.IOException;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * Any OpenAI-compatible Chat Completions API. The request passes through as SomaStack read it
 * (only the model name is replaced), so tools, tool_choice and response_format reach the
 * upstream unchanged. Streams always ask for {@code stream_options.include_usage}; the usage
 * chunk reaches the client only if it asked too. Thread-safe.
 */
public final class OpenAiProvider implements ModelProvider {
    private final String name;
    private final URI completionsUri;
    private final String apiKey;
    private final HttpUpstream http;
    private final TokenEstimator tokens;
    private final Clock clock;

    public OpenAiProvider(ProviderConfig config, TokenEstimator tokens, Clock clock) {
        this.name = config.name();
        this.completionsUri = URI.create(config.baseUrl() + "/chat/completions");
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
        return "openai";
    }

    @Override
    public ChatResult complete(ChatRequest request, String upstreamModel) {
        ChatRequest upstream = request.withModel(upstreamModel).withStream(false, null);
        byte[] body = http.read(http.post(completionsUri, headers(false), Json.bytes(upstream)));
        ChatCompletion completion = WireJson.readUpstream(body, ChatCompletion.class, name);
        Usage usage;
        if (completion.usage() != null) {
            usage = new Usage(completion.usage().promptTokens(), completion.usage().completionTokens(), false);
        } else {
            String text = completion.message() == null ? "" : completion.message().text();
            usage = new Usage(countPromptTokens(request), tokens.count(text), true);
            completion = new ChatCompletion(completion.id(), completion.object(), completion.created(), completion.model(),
                    completion.choices(), CompletionUsage.of(usage));
        }
        return new ChatResult(completion, usage, false, name, upstreamModel);
    }

    @Override
    public ChatResult stream(ChatRequest request, String upstreamModel, StreamSink sink) {
        ChatRequest upstream = request.withModel(upstreamModel)
                .withStream(true, new ChatRequest.StreamOptions(true));
        HttpUpstream.Answer response = http.post(completionsUri, headers(true), Json.bytes(upstream));
        StreamEmitter emitter = new StreamEmitter(sink, request.includeUsage(), Ids.completionId(),
                clock.now().getEpochSecond(), upstreamModel);
        CompletionUsage reported = null;
        boolean done = false;
        try (SseReader reader = new SseReader(response.body())) {
            SseReader.Event event;
            while (!emitter.gone() && (event = reader.next()) != null) {
                if (event.data().equals("[DONE]")) {
                    done = true;
                    break;
                }
                ChatChunk chunk = chunk(event.data());
                if (chunk.usage() != null) {
                    reported = chunk.usage();
                }
                if (!chunk.choices().isEmpty()) {
                    emitter.forward(chunk);
                }
            }
        } catch (IOException e) {
            throw Upstream.unreachable(name, e);
        }
        if (!done && !emitter.gone() && emitter.finishReason() == null) {
            throw Upstream.failure(name, 0, true, "stream ended before [DONE]", null);
        }
        Usage usage = reported != null
                ? new Usage(reported.promptTokens(), reported.completionTokens(), false)
                : new Usage(countPromptTokens(request), tokens.count(emitter.generatedText()), true);
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

    private ChatChunk chunk(String data) {
        JsonNode tree;
        try {
            tree = WireJson.lenient().readTree(data);
        } catch (JacksonException e) {
            throw Upstream.failure(name, 0, true, "unreadable stream event: " + e.getOriginalMessage(), e);
        }
        JsonNode error = tree.get("error");
        if (error != null && error.isObject()) {
            throw Upstream.failure(name, 0, true, "error in stream: " + error.path("message").asString(""), null);
        }
        return WireJson.lenient().treeToValue(tree, ChatChunk.class);
    }

    private Map<String, String> headers(boolean stream) {
        Map<String, String> headers = new LinkedHashMap<>();
        if (apiKey != null) {
            headers.put("Authorization", "Bearer " + apiKey);
        }
        headers.put("Accept", stream ? "text/event-stream" : "application/json");
        return headers;
    }
}
