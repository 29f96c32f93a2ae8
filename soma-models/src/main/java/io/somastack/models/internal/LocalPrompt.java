package io.somastack.models.internal;

import io.somastack.kernel.Json;
import io.somastack.models.ChatMessage;
import io.somastack.models.ChatRequest;
import io.somastack.models.ToolCall;
import io.somastack.models.ToolDefinition;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The prompt a local model sees. The test model (and many small GGUF files) is a base model
 * without a chat template, so the conversation is written as plain {@code role: content}
 * lines ending with {@code assistant:}; a model that starts writing the next {@code user:}
 * turn is stopped there (see {@link #TURN_STOP}). Tool calls in the history are written as the
 * JSON objects the tool grammar produces, so a model sees its own earlier calls.
 */
final class LocalPrompt {
    /** Stop sequence that ends the assistant's turn when a base model goes on with the dialogue. */
    static final String TURN_STOP = "\nuser:";

    private LocalPrompt() {
    }

    static String render(ChatRequest request, List<ToolDefinition> offeredTools) {
        StringBuilder prompt = new StringBuilder();
        if (!offeredTools.isEmpty()) {
            prompt.append("system: Answer with a call to one of these tools:");
            for (ToolDefinition tool : offeredTools) {
                prompt.append(' ').append(tool.name());
                if (tool.function().description() != null) {
                    prompt.append(" (").append(tool.function().description()).append(')');
                }
                prompt.append(';');
            }
            prompt.append('\n');
        }
        for (ChatMessage message : request.messages()) {
            String role = message.role().equals("developer") ? "system" : message.role();
            prompt.append(role).append(": ").append(message.text());
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
                    prompt.append(Json.text(written));
                }
            }
            prompt.append('\n');
        }
        return prompt.append("assistant:").toString();
    }
}
