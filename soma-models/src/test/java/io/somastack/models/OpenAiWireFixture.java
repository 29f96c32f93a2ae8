package io.somastack.models;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import tools.jackson.databind.JsonNode;

/**
 * A local stand-in for the OpenAI Chat Completions API ({@code POST /v1/chat/completions}),
 * speaking its published wire format: bearer authentication, the documented request fields
 * (anything else is refused as OpenAI does), {@code chat.completion} bodies with usage,
 * {@code chat.completion.chunk} server-sent events ending in {@code data: [DONE]}, the usage
 * chunk with empty {@code choices} only when {@code stream_options.include_usage} is true, and
 * the {@code {"error": {message, type, param, code}}} bodies of 401, 429 and 500.
 */
public final class OpenAiWireFixture extends WireFixtureServer {
    private static final Set<String> FIELDS = Set.of("model", "messages", "stream", "stream_options", "max_tokens",
            "max_completion_tokens", "temperature", "top_p", "n", "stop", "tools", "tool_choice", "response_format",
            "user", "seed", "presence_penalty", "frequency_penalty", "parallel_tool_calls", "metadata", "logprobs");
    private static final long CREATED = 1_767_000_000L;

    private final String apiKey;
    private final AtomicInteger sequence = new AtomicInteger();

    public OpenAiWireFixture(String apiKey) {
        super("/v1/chat/completions");
        this.apiKey = apiKey;
    }

    /** The base URL a client configures: {@code http://127.0.0.1:port/v1}. */
    public URI baseUrl() {
        return URI.create(root() + "/v1");
    }

    @Override
    protected FixtureReply defaultReply() {
        return new FixtureReply.Text("Hello from the fixture", 12, 5);
    }

    @Override
    protected List<Refusal> check(Map<String, String> headers, JsonNode body) {
        List<Refusal> refusals = new ArrayList<>();
        if (!("Bearer " + apiKey).equals(headers.get("authorization"))) {
            refusals.add(new Refusal(401, "Incorrect API key provided."));
            return refusals;
        }
        body.properties().forEach(field -> {
            if (!FIELDS.contains(field.getKey())) {
                refusals.add(new Refusal(400, "Unrecognized request argument supplied: " + field.getKey()));
            }
        });
        if (!body.path("model").isString()) {
            refusals.add(new Refusal(400, "you must provide a model parameter"));
        }
        if (!body.path("messages").isArray() || body.path("messages").isEmpty()) {
            refusals.add(new Refusal(400, "'messages' must contain at least one message"));
        }
        return refusals;
    }

    @Override
    protected void respond(HttpExchange exchange, JsonNode body, FixtureReply reply) throws IOException {
        int number = sequence.incrementAndGet();
        String id = "chatcmpl-fixture" + number;
        String model = body.path("model").asString();
        if (reply instanceof FixtureReply.Failure failure) {
            error(exchange, failure.status(), switch (failure.status()) {
                case 429 -> "Rate limit reached for requests";
                case 500 -> "The server had an error while processing your request. Sorry about that!";
                default -> "Invalid request";
            });
            return;
        }
        if (body.path("stream").asBoolean(false)) {
            stream(exchange, body, reply, id, model, number);
            return;
        }
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("role", "assistant");
        String finish = "stop";
        int input;
        int output;
        switch (reply) {
            case FixtureReply.Text text -> {
                message.put("content", text.text());
                input = text.inputTokens();
                output = text.outputTokens();
            }
            case FixtureReply.ToolUse tool -> {
                message.put("content", null);
                message.put("tool_calls", List.of(Map.of("id", "call_fixture" + number, "type", "function",
                        "function", Map.of("name", tool.name(), "arguments", tool.argumentsJson()))));
                finish = "tool_calls";
                input = tool.inputTokens();
                output = tool.outputTokens();
            }
            default -> throw new IllegalArgumentException("reply %s needs a stream".formatted(reply));
        }
        message.put("refusal", null);
        message.put("annotations", List.of());
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        choice.put("message", message);
        choice.put("logprobs", null);
        choice.put("finish_reason", finish);
        Map<String, Object> completion = new LinkedHashMap<>();
        completion.put("id", id);
        completion.put("object", "chat.completion");
        completion.put("created", CREATED);
        completion.put("model", model);
        completion.put("choices", List.of(choice));
        completion.put("usage", usage(input, output));
        completion.put("service_tier", "default");
        completion.put("system_fingerprint", "fp_fixture");
        json(exchange, 200, completion);
    }

    private void stream(HttpExchange exchange, JsonNode body, FixtureReply reply, String id, String model, int number)
            throws IOException {
        boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
        EventWriter events = events(exchange);
        Map<String, Object> first = new LinkedHashMap<>();
        first.put("role", "assistant");
        first.put("content", reply instanceof FixtureReply.ToolUse ? null : "");
        first.put("refusal", null);
        if (reply instanceof FixtureReply.ToolUse tool) {
            first.put("tool_calls", List.of(Map.of("index", 0, "id", "call_fixture" + number, "type", "function",
                    "function", Map.of("name", tool.name(), "arguments", ""))));
        }
        events.send(null, chunk(id, model, first, null, includeUsage));
        int input = 12;
        int output;
        String finish = "stop";
        switch (reply) {
            case FixtureReply.Text text -> {
                for (String word : words(text.text())) {
                    events.send(null, chunk(id, model, Map.of("content", word), null, includeUsage));
                }
                input = text.inputTokens();
                output = text.outputTokens();
            }
            case FixtureReply.ToolUse tool -> {
                String arguments = tool.argumentsJson();
                for (int start = 0; start < arguments.length(); start += 7) {
                    String fragment = arguments.substring(start, Math.min(arguments.length(), start + 7));
                    events.send(null, chunk(id, model, Map.of("tool_calls", List.of(Map.of("index", 0,
                            "function", Map.of("arguments", fragment)))), null, includeUsage));
                }
                input = tool.inputTokens();
                output = tool.outputTokens();
                finish = "tool_calls";
            }
            case FixtureReply.SlowText slow -> {
                for (String word : words(filler(slow.words()))) {
                    events.send(null, chunk(id, model, Map.of("content", word), null, includeUsage));
                    events.pause(slow.delay());
                }
                output = slow.words();
            }
            case FixtureReply.StreamError failing -> {
                for (String word : words(filler(failing.words())).subList(0, failing.words())) {
                    events.send(null, chunk(id, model, Map.of("content", word), null, includeUsage));
                }
                events.send(null, Map.of("error", Map.of("message", "The server had an error while processing your request.",
                        "type", "server_error")));
                return;
            }
            case FixtureReply.DropAfter drop -> {
                for (String word : words(filler(drop.words()))) {
                    events.send(null, chunk(id, model, Map.of("content", word), null, includeUsage));
                }
                return;
            }
            case FixtureReply.Failure failure -> throw new IllegalStateException("failures are not streamed");
        }
        events.send(null, chunk(id, model, Map.of(), finish, includeUsage));
        if (includeUsage) {
            Map<String, Object> usageChunk = new LinkedHashMap<>();
            usageChunk.put("id", id);
            usageChunk.put("object", "chat.completion.chunk");
            usageChunk.put("created", CREATED);
            usageChunk.put("model", model);
            usageChunk.put("system_fingerprint", "fp_fixture");
            usageChunk.put("choices", List.of());
            usageChunk.put("usage", usage(input, output));
            events.send(null, usageChunk);
        }
        events.send(null, "[DONE]");
    }

    private static Map<String, Object> chunk(String id, String model, Map<String, Object> delta, String finish, boolean includeUsage) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        choice.put("delta", delta);
        choice.put("logprobs", null);
        choice.put("finish_reason", finish);
        Map<String, Object> chunk = new LinkedHashMap<>();
        chunk.put("id", id);
        chunk.put("object", "chat.completion.chunk");
        chunk.put("created", CREATED);
        chunk.put("model", model);
        chunk.put("system_fingerprint", "fp_fixture");
        chunk.put("choices", List.of(choice));
        if (includeUsage) {
            chunk.put("usage", null);
        }
        return chunk;
    }

    private static Map<String, Object> usage(int input, int output) {
        return Map.of("prompt_tokens", input, "completion_tokens", output, "total_tokens", input + output,
                "prompt_tokens_details", Map.of("cached_tokens", 0, "audio_tokens", 0),
                "completion_tokens_details", Map.of("reasoning_tokens", 0, "audio_tokens", 0));
    }

    @Override
    protected void error(HttpExchange exchange, int status, String message) throws IOException {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", message);
        error.put("type", switch (status) {
            case 401, 400 -> "invalid_request_error";
            case 429 -> "requests";
            default -> "server_error";
        });
        error.put("param", null);
        error.put("code", switch (status) {
            case 401 -> "invalid_api_key";
            case 429 -> "rate_limit_exceeded";
            default -> null;
        });
        json(exchange, status, Map.of("error", error));
    }
}
