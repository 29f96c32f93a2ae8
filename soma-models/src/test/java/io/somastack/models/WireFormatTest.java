package io.somastack.models;

import static io.somastack.models.SchemaAssertions.schema;
import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Json;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The JSON SomaStack writes is the JSON OpenAI clients expect. */
class WireFormatTest {

    @Test
    void writesACompletionWithNullContentForToolCalls() {
        ChatCompletion completion = ChatCompletion.of("chatcmpl-1", 1_700_000_000L, "local",
                ChatMessage.assistantToolCalls(List.of(ToolCall.function("call_1", "lookup", "{\"q\":\"x\"}"))),
                "tool_calls", new Usage(10, 5, false));

        assertThat(tree(completion)).isEqualTo(schema("""
                {"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "local",
                 "choices": [{"index": 0, "finish_reason": "tool_calls",
                              "message": {"role": "assistant", "content": null,
                                          "tool_calls": [{"id": "call_1", "type": "function",
                                                          "function": {"name": "lookup", "arguments": "{\\"q\\":\\"x\\"}"}}]}}],
                 "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}"""));
    }

    @Test
    void writesChunksWithNullFinishReasonAndAFinalUsageChunkWithEmptyChoices() {
        ChatChunk content = ChatChunk.of("chatcmpl-1", 1L, "local", new ChatChunk.Delta(null, "Hi", null), null);
        ChatChunk usage = ChatChunk.usageOnly("chatcmpl-1", 1L, "local", new Usage(3, 1, true));

        assertThat(tree(content)).isEqualTo(schema("""
                {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "local",
                 "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": null}]}"""));
        assertThat(tree(usage)).isEqualTo(schema("""
                {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "local", "choices": [],
                 "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}"""));
    }

    @Test
    void writesTheModelList() {
        ModelList list = ModelList.of(List.of(ModelInfo.of("local", 42L, "local")));

        assertThat(tree(list)).isEqualTo(schema("""
                {"object": "list", "data": [{"id": "local", "object": "model", "created": 42, "owned_by": "local"}]}"""));
    }

    /** The value as a client parses it (numbers as they read, key order ignored). */
    private static JsonNode tree(Object value) {
        return Json.tree(Json.bytes(value));
    }
}
