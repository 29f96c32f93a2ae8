package io.somastack.models.internal;

import io.somastack.kernel.Json;
import io.somastack.models.ChatMessage;
import io.somastack.models.ChatRequest;
import io.somastack.models.ToolCall;
import io.somastack.models.ToolDefinition;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The prompt a local model sees. The conversation becomes turns ({@code role}, text): a forced
 * tool call first gets a system turn naming the tools, {@code developer} is {@code system}, and
 * tool calls in the history are written as the JSON objects the tool grammar produces, so a
 * model sees its own earlier calls. A model with a chat template (the GGUF's
 * {@code tokenizer.chat_template} or the operator's {@code chat_template}) renders the turns
 * with it, through llama.cpp ({@link #templateInput}). Without one (the test model and many
 * small base models have none) the turns are plain {@code role: content} lines ending with
 * {@code assistant:}, and a model that starts writing the next {@code user:} turn is stopped
 * there (see {@link #TURN_STOP}).
 */
final class LocalPrompt {
    /** Stop sequence that ends the assistant's turn when a base model goes on with the dialogue. */
    static final String TURN_STOP = "\nuser:";

    private LocalPrompt() {
    }

    /** One message as the model reads it. */
    record Turn(String role, String content) {
    }

    /** The plain-lines prompt. */
    static String render(ChatRequest request, List<ToolDefinition> offeredTools) {
        StringBuilder prompt = new StringBuilder();
        for (Turn turn : turns(request, offeredTools)) {
            prompt.append(turn.role()).append(": ").append(turn.content()).append('\n');
        }
        return prompt.append("assistant:").toString();
    }

    /** What llama.cpp's {@code applyTemplate} renders: the turns as OpenAI-style messages. */
    static String templateInput(ChatRequest request, List<ToolDefinition> offeredTools) {
        ObjectNode input = WireJson.object();
        ArrayNode messages = input.putArray("messages");
        for (Turn turn : turns(request, offeredTools)) {
            messages.addObject().put("role", turn.role()).put("content", turn.content());
        }
        return Json.text(input);
    }

    static List<Turn> turns(ChatRequest request, List<ToolDefinition> offeredTools) {
        List<Turn> turns = new ArrayList<>();
        if (!offeredTools.isEmpty()) {
            StringBuilder system = new StringBuilder("Answer with a call to one of these tools:");
            for (ToolDefinition tool : offeredTools) {
                system.append(' ').append(tool.name());
                if (tool.function().description() != null) {
                    system.append(" (").append(tool.function().description()).append(')');
                }
                system.append(';');
            }
            turns.add(new Turn("system", system.toString()));
        }
        for (ChatMessage message : request.messages()) {
            String role = message.role().equals("developer") ? "system" : message.role();
            StringBuilder content = new StringBuilder(message.text());
            if (message.toolCalls() != null) {
                for (ToolCall call : message.toolCalls()) {
                    ObjectNode written = WireJson.object();
                    written.put("name", call.function().name());
                    JsonNode arguments = WireJson.treeOrNull(call.function().arguments());
                    if (arguments != null) {
                        written.set("arguments", arguments);
                    } else {
                        written.put("arguments", call.function().arguments());
                    }
                    content.append(Json.text(written));
                }
            }
            turns.add(new Turn(role, content.toString()));
        }
        return turns;
    }
}
