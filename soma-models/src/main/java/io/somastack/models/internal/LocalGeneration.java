package io.somastack.models.internal;

import io.somastack.kernel.Json;
import io.somastack.models.ChatCompletion;
import io.somastack.models.ChatMessage;
import io.somastack.models.ChatRequest;
import io.somastack.models.ChatResult;
import io.somastack.models.ToolCall;
import io.somastack.models.ToolDefinition;
import io.somastack.models.Usage;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * One generation of the local model: which mode it runs in, what it emitted, what it cost.
 *
 * <p>Modes: plain text (stop sequences apply, text streams as it comes); JSON, for a
 * {@code json_object} or {@code json_schema} response format (grammar-constrained, streams as
 * content); and a forced tool call, when {@code tool_choice} is {@code required} or names a
 * function (grammar-constrained, the call is sent as one tool call delta when complete). With
 * {@code tool_choice} {@code auto} the local model answers in text: a small model cannot
 * judge reliably when to call a tool, so it only calls when told to.
 */
final class LocalGeneration {
    private final StreamEmitter emitter;
    private final List<ToolDefinition> tools;
    private final String grammar;
    private final StopMatcher stops;
    private final StringBuilder text = new StringBuilder();
    private int outputTokens;
    private boolean stopSequenceHit;
    private boolean gone;
    private String finishReason;
    private ToolCall toolCall;
    private Usage usage;

    /** {@code plainLines}: the prompt is plain lines, so the next {@code user:} line ends the turn. */
    LocalGeneration(ChatRequest request, StreamEmitter emitter, boolean plainLines) {
        this.emitter = emitter;
        this.tools = forcedTools(request);
        if (!tools.isEmpty()) {
            grammar = LocalGrammar.toolCall(tools);
        } else if (request.responseFormat() != null && request.responseFormat().wantsJson()) {
            grammar = LocalGrammar.json(request.responseFormat());
        } else {
            grammar = null;
        }
        this.stops = new StopMatcher(grammar == null ? stops(request, plainLines) : List.of());
    }

    /** The tools the model must choose from: none unless {@code tool_choice} forces a call. */
    static List<ToolDefinition> forcedTools(ChatRequest request) {
        if (!request.hasTools() || request.toolChoice() == null || !request.toolChoice().forcesCall()) {
            return List.of();
        }
        if (request.toolChoice().mode().equals("function")) {
            return request.tools().stream().filter(tool -> request.toolChoice().functionName().equals(tool.name())).toList();
        }
        return request.tools();
    }

    List<ToolDefinition> tools() {
        return tools;
    }

    String grammar() {
        return grammar;
    }

    /** Sends the role chunk of a stream; false when the client is already gone. */
    boolean begin() {
        if (emitter != null && !emitter.role()) {
            gone = true;
        }
        return !gone;
    }

    /**
     * Takes one result of the engine; {@code token} is false for the final, empty result.
     * Returns false when generation must stop (client gone or stop sequence found).
     */
    boolean accept(String piece, boolean token) {
        if (token) {
            outputTokens++;
        }
        if (!tools.isEmpty()) {
            text.append(piece);
            return true;
        }
        String safe = stops.accept(piece);
        text.append(safe);
        if (emitter != null && !emitter.content(safe)) {
            gone = true;
            return false;
        }
        stopSequenceHit = stops.stopped();
        return !stopSequenceHit;
    }

    void finish(int promptTokens, int maxTokens) {
        if (!gone) {
            String rest = stops.flush();
            text.append(rest);
            gone = emitter != null && !emitter.content(rest);
        }
        usage = new Usage(promptTokens, outputTokens, false);
        finishReason = !stopSequenceHit && outputTokens >= maxTokens ? "length" : "stop";
        if (!tools.isEmpty()) {
            toolCall = parseToolCall(text.toString());
            finishReason = toolCall != null ? "tool_calls" : finishReason;
        }
        if (emitter == null || gone) {
            return;
        }
        if (toolCall != null) {
            emitter.toolCallStart(0, toolCall.id(), toolCall.function().name());
            emitter.toolCallArguments(0, toolCall.function().arguments());
        } else if (!tools.isEmpty()) {
            emitter.content(text.toString());
        }
        if (emitter.finish(finishReason)) {
            emitter.usage(usage);
        }
        gone = emitter.gone();
    }

    ChatResult result(String provider, String model, long created) {
        ChatMessage message = toolCall != null
                ? ChatMessage.assistantToolCalls(List.of(toolCall))
                : ChatMessage.of("assistant", text.toString());
        ChatCompletion completion = ChatCompletion.of(Ids.completionId(), created, model, message, finishReason, usage);
        return new ChatResult(completion, usage, false, provider, model);
    }

    ChatResult streamResult(String provider, String model) {
        return new ChatResult(emitter.completion(usage), usage, gone, provider, model);
    }

    /** The client's stop sequences plus, on plain lines, the end of the assistant's turn (a template has its own end). */
    private static List<String> stops(ChatRequest request, boolean plainLines) {
        List<String> stops = new ArrayList<>(request.stopSequences());
        if (plainLines) {
            stops.add(LocalPrompt.TURN_STOP);
        }
        return stops;
    }

    private static ToolCall parseToolCall(String output) {
        JsonNode call = WireJson.treeOrNull(output);
        if (call == null || !call.isObject() || !call.path("name").isString() || !call.path("arguments").isObject()) {
            return null;
        }
        return ToolCall.function(Ids.toolCallId(), call.get("name").stringValue(), Json.text(call.get("arguments")));
    }
}
