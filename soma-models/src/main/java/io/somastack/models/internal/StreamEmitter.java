package io.somastack.models.internal;

import io.somastack.models.ChatChunk;
import io.somastack.models.ChatCompletion;
import io.somastack.models.ChatMessage;
import io.somastack.models.MessageContent;
import io.somastack.models.StreamSink;
import io.somastack.models.ToolCall;
import io.somastack.models.Usage;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Sends OpenAI chunks to a {@link StreamSink} and assembles the whole message on the way, so
 * every provider streams the same shape. Once the sink refuses a chunk the client is gone and
 * nothing more is sent. The usage chunk is sent only when the client asked for it. One
 * emitter serves one stream; not thread-safe.
 */
public final class StreamEmitter {
    private final StreamSink sink;
    private final boolean includeUsage;
    private String id;
    private long created;
    private String model;
    private final StringBuilder content = new StringBuilder();
    private final Map<Integer, PendingCall> toolCalls = new TreeMap<>();
    private String finishReason;
    private boolean delivered;
    private boolean gone;

    public StreamEmitter(StreamSink sink, boolean includeUsage, String id, long created, String model) {
        this.sink = sink;
        this.includeUsage = includeUsage;
        this.id = id;
        this.created = created;
        this.model = model;
    }

    /** Sends the first chunk: the assistant role with empty content, as OpenAI does. */
    public boolean role() {
        return send(ChatChunk.of(id, created, model, new ChatChunk.Delta("assistant", "", null), null));
    }

    public boolean content(String text) {
        if (text == null || text.isEmpty()) {
            return !gone;
        }
        content.append(text);
        return send(ChatChunk.of(id, created, model, new ChatChunk.Delta(null, text, null), null));
    }

    /** Opens tool call {@code index} with its id and function name. */
    public boolean toolCallStart(int index, String callId, String name) {
        toolCalls.put(index, new PendingCall(callId, name, new StringBuilder()));
        ToolCall delta = new ToolCall(index, callId, "function", new ToolCall.FunctionCall(name, ""));
        return send(ChatChunk.of(id, created, model, new ChatChunk.Delta(null, null, List.of(delta)), null));
    }

    /** Appends a fragment of tool call {@code index}'s JSON arguments. */
    public boolean toolCallArguments(int index, String fragment) {
        if (fragment == null || fragment.isEmpty()) {
            return !gone;
        }
        toolCalls.computeIfAbsent(index, key -> new PendingCall(null, null, new StringBuilder())).arguments().append(fragment);
        ToolCall delta = new ToolCall(index, null, null, new ToolCall.FunctionCall(null, fragment));
        return send(ChatChunk.of(id, created, model, new ChatChunk.Delta(null, null, List.of(delta)), null));
    }

    public boolean finish(String reason) {
        finishReason = reason;
        return send(ChatChunk.of(id, created, model, new ChatChunk.Delta(null, null, null), reason));
    }

    /**
     * Forwards an upstream OpenAI chunk (without its usage, which {@link #usage(Usage)} sends
     * at the end), recording its content, tool calls and finish reason.
     */
    public boolean forward(ChatChunk chunk) {
        id = chunk.id() == null ? id : chunk.id();
        created = chunk.created() == 0 ? created : chunk.created();
        model = chunk.model() == null ? model : chunk.model();
        for (ChatChunk.ChunkChoice choice : chunk.choices()) {
            record(choice);
        }
        return send(new ChatChunk(id, ChatChunk.OBJECT, created, model, chunk.choices(), null));
    }

    /** Sends the usage chunk if the client asked for one and is still there. */
    public void usage(Usage usage) {
        if (includeUsage) {
            send(ChatChunk.usageOnly(id, created, model, usage));
        }
    }

    /** True once a chunk was handed to the sink: from then on the stream cannot fall back. */
    public boolean delivered() {
        return delivered;
    }

    public boolean gone() {
        return gone;
    }

    public String finishReason() {
        return finishReason;
    }

    /** Everything generated so far, as text (content and tool call names and arguments), for token counting. */
    public String generatedText() {
        StringBuilder text = new StringBuilder(content);
        toolCalls.values().forEach(call -> text.append(call.name() == null ? "" : call.name()).append(call.arguments()));
        return text.toString();
    }

    /** The message assembled from the stream, as a completion. */
    public ChatCompletion completion(Usage usage) {
        List<ToolCall> calls = toolCalls.values().stream()
                .map(call -> ToolCall.function(call.id(), call.name(), call.arguments().toString()))
                .toList();
        MessageContent text = content.isEmpty() && !calls.isEmpty() ? null : MessageContent.text(content.toString());
        ChatMessage message = new ChatMessage("assistant", text, null, null, calls.isEmpty() ? null : calls, null);
        String reason = finishReason != null ? finishReason : (gone ? "stop" : null);
        return ChatCompletion.of(id, created, model, message, reason, usage);
    }

    private void record(ChatChunk.ChunkChoice choice) {
        if (choice.finishReason() != null) {
            finishReason = choice.finishReason();
        }
        ChatChunk.Delta delta = choice.delta();
        if (delta == null) {
            return;
        }
        if (delta.content() != null) {
            content.append(delta.content());
        }
        if (delta.toolCalls() != null) {
            for (ToolCall call : delta.toolCalls()) {
                int index = call.index() == null ? 0 : call.index();
                PendingCall pending = toolCalls.computeIfAbsent(index, key -> new PendingCall(call.id(), null, new StringBuilder()));
                String name = call.function() == null ? null : call.function().name();
                if (call.id() != null || name != null) {
                    pending = new PendingCall(call.id() != null ? call.id() : pending.id(), name != null ? name : pending.name(), pending.arguments());
                    toolCalls.put(index, pending);
                }
                if (call.function() != null && call.function().arguments() != null) {
                    pending.arguments().append(call.function().arguments());
                }
            }
        }
    }

    private boolean send(ChatChunk chunk) {
        if (gone) {
            return false;
        }
        delivered = true;
        if (!sink.onChunk(chunk)) {
            gone = true;
        }
        return !gone;
    }

    private record PendingCall(String id, String name, StringBuilder arguments) {
    }
}
