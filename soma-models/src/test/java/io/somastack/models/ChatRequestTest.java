package io.somastack.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** Reading and validating OpenAI Chat Completions requests. */
class ChatRequestTest {
    private static final String USER = "[{\"role\": \"user\", \"content\": \"Hi\"}]";
    private static final String TOOL = "{\"type\": \"function\", \"function\": {\"name\": \"%s\", \"parameters\": %s}}";

    @Test
    void readsEveryAcceptedShape() {
        ChatRequest request = parse("""
                {"model": "local", "stream": true, "stream_options": {"include_usage": true}, "max_completion_tokens": 64,
                 "max_tokens": 10, "temperature": 0, "top_p": 1, "n": 1, "stop": "END", "seed": 3, "user": "u",
                 "presence_penalty": 0.5, "frequency_penalty": -0.5, "parallel_tool_calls": false,
                 "metadata": {"team": "a"}, "logprobs": false,
                 "tools": [%s], "tool_choice": {"type": "function", "function": {"name": "lookup"}},
                 "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": true}},
                 "messages": [{"role": "system", "content": [{"type": "text", "text": "Be "}, {"type": "text", "text": "brief"}]},
                              {"role": "user", "content": "Hi", "name": "ann"},
                              {"role": "assistant", "content": null, "refusal": null, "annotations": [],
                               "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]},
                              {"role": "tool", "tool_call_id": "call_1", "content": "found"}]}"""
                .formatted(TOOL.formatted("lookup", "{\"type\": \"object\"}")));

        assertThat(request.streaming()).isTrue();
        assertThat(request.includeUsage()).isTrue();
        assertThat(request.maxOutputTokens(1024)).isEqualTo(64);
        assertThat(request.stopSequences()).containsExactly("END");
        assertThat(request.toolChoice()).isEqualTo(ToolChoice.function("lookup"));
        assertThat(request.messages().getFirst().text()).isEqualTo("Be brief");
        assertThat(request.messages().get(2).hasToolCalls()).isTrue();
        ChatRequest again = ChatRequest.parse(Json.bytes(request));
        assertThat(again).isEqualTo(request);
    }

    @Test
    void usesMaxTokensOrTheDefaultWhenNoCompletionLimitIsGiven() {
        assertThat(parse("{\"model\": \"m\", \"messages\": %s, \"max_tokens\": 20}".formatted(USER)).maxOutputTokens(1024)).isEqualTo(20);
        assertThat(parse("{\"model\": \"m\", \"messages\": %s}".formatted(USER)).maxOutputTokens(1024)).isEqualTo(1024);
    }

    @Test
    void rejectsUnknownFieldsAtAnyDepth() {
        assertFails("{\"model\": \"m\", \"messages\": %s, \"best_of\": 2}".formatted(USER), ErrorCode.UNKNOWN_FIELD, "best_of");
        assertFails("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\", \"mood\": 1}]}",
                ErrorCode.UNKNOWN_FIELD, "messages[0].mood");
        assertFails("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"a\", \"x\": 1}]}]}",
                ErrorCode.UNKNOWN_FIELD, "x");
    }

    @Test
    void rejectsBrokenJsonAndWrongTypes() {
        assertFails("{\"model\": ", ErrorCode.MALFORMED_JSON, "");
        assertFails("{\"model\": \"m\", \"messages\": %s, \"max_tokens\": \"many\"}".formatted(USER), ErrorCode.INVALID_REQUEST, "max_tokens");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidRequests")
    void rejectsInvalidRequestsWithAMessageNamingTheProblem(String problem, String json, ErrorCode code, String message) {
        assertFails(json, code, message);
    }

    static Stream<Arguments> invalidRequests() {
        return Stream.of(
                Arguments.of("missing model", "{\"messages\": %s}".formatted(USER), ErrorCode.INVALID_REQUEST, "model is required"),
                Arguments.of("empty messages", "{\"model\": \"m\", \"messages\": []}", ErrorCode.INVALID_REQUEST, "messages must not be empty"),
                Arguments.of("zero max_tokens", request(", \"max_tokens\": 0"), ErrorCode.INVALID_REQUEST, "max_tokens must be a positive integer"),
                Arguments.of("negative max_tokens", request(", \"max_tokens\": -5"), ErrorCode.INVALID_REQUEST, "max_tokens must be a positive integer"),
                Arguments.of("zero max_completion_tokens", request(", \"max_completion_tokens\": 0"), ErrorCode.INVALID_REQUEST,
                        "max_completion_tokens must be a positive integer"),
                Arguments.of("temperature above 2", request(", \"temperature\": 2.5"), ErrorCode.INVALID_REQUEST,
                        "temperature must be between 0 and 2"),
                Arguments.of("negative temperature", request(", \"temperature\": -0.1"), ErrorCode.INVALID_REQUEST,
                        "temperature must be between 0 and 2"),
                Arguments.of("bad role", "{\"model\": \"m\", \"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}",
                        ErrorCode.INVALID_REQUEST, "messages[0].role 'robot' is not one of"),
                Arguments.of("n above 1", request(", \"n\": 2"), ErrorCode.INVALID_REQUEST, "only n=1 is supported"),
                Arguments.of("logprobs", request(", \"logprobs\": true"), ErrorCode.INVALID_REQUEST, "logprobs is not supported"),
                Arguments.of("tool message without id", "{\"model\": \"m\", \"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}",
                        ErrorCode.INVALID_REQUEST, "tool_call_id"),
                Arguments.of("user message without content", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\"}]}",
                        ErrorCode.INVALID_REQUEST, "needs content"),
                Arguments.of("image part", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": "
                        + "[{\"type\": \"image_url\", \"image_url\": {\"url\": \"x\"}}]}]}", ErrorCode.INVALID_REQUEST, "only 'text' parts"),
                Arguments.of("tool type not function", request(", \"tools\": [{\"type\": \"retrieval\", \"function\": {\"name\": \"a\"}}]"),
                        ErrorCode.INVALID_TOOL_SCHEMA, "tools[0].type must be \"function\""),
                Arguments.of("tool name with spaces", request(", \"tools\": [%s]".formatted(TOOL.formatted("get weather", "{}"))),
                        ErrorCode.INVALID_TOOL_SCHEMA, "must match ^[a-zA-Z0-9_-]{1,64}$"),
                Arguments.of("tool name too long", request(", \"tools\": [%s]".formatted(TOOL.formatted("a".repeat(65), "{}"))),
                        ErrorCode.INVALID_TOOL_SCHEMA, "must match"),
                Arguments.of("parameters not an object", request(", \"tools\": [%s]".formatted(TOOL.formatted("a", "[1]"))),
                        ErrorCode.INVALID_TOOL_SCHEMA, "parameters must be a JSON Schema object"),
                Arguments.of("parameters of type array", request(", \"tools\": [%s]".formatted(TOOL.formatted("a", "{\"type\": \"array\"}"))),
                        ErrorCode.INVALID_TOOL_SCHEMA, "parameters.type must be \"object\""),
                Arguments.of("tool_choice names a missing function", request(", \"tools\": [%s], \"tool_choice\": "
                        .formatted(TOOL.formatted("a", "{}")) + "{\"type\": \"function\", \"function\": {\"name\": \"b\"}}"),
                        ErrorCode.INVALID_REQUEST, "function 'b', which is not among the tools"),
                Arguments.of("required tool_choice without tools", request(", \"tool_choice\": \"required\""),
                        ErrorCode.INVALID_REQUEST, "tool_choice 'required' needs tools"),
                Arguments.of("unknown tool_choice", request(", \"tool_choice\": \"always\""), ErrorCode.INVALID_REQUEST,
                        "tool_choice 'always'"),
                Arguments.of("json_schema without schema", request(", \"response_format\": {\"type\": \"json_schema\", "
                        + "\"json_schema\": {\"name\": \"x\"}}"), ErrorCode.INVALID_REQUEST, "json_schema needs json_schema.schema"),
                Arguments.of("unknown response format", request(", \"response_format\": {\"type\": \"yaml\"}"),
                        ErrorCode.INVALID_REQUEST, "response_format.type 'yaml'"));
    }

    private static String request(String extra) {
        return "{\"model\": \"m\", \"messages\": %s%s}".formatted(USER, extra);
    }

    @Test
    void refusesLenientTypesNullBodiesAndUnstorableText() {
        assertFails("{\"model\": \"m\", \"messages\": %s, \"max_tokens\": 1.5}".formatted(USER), ErrorCode.INVALID_REQUEST,
                "Field 'max_tokens' must be an integer");
        assertFails("{\"model\": 7, \"messages\": %s}".formatted(USER), ErrorCode.INVALID_REQUEST, "Field 'model' must be a string");
        assertFails("null", ErrorCode.INVALID_REQUEST, "JSON null");
        assertFails("", ErrorCode.INVALID_REQUEST, "empty");
        assertFails("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"a\\u0000\"}]}", ErrorCode.INVALID_REQUEST,
                "Field 'messages[0].content' holds a NUL character");
    }

    private static ChatRequest parse(String json) {
        return ChatRequest.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private static void assertFails(String json, ErrorCode code, String message) {
        assertThatThrownBy(() -> parse(json)).isInstanceOfSatisfying(SomaException.class, failure -> {
            assertThat(failure.code()).isEqualTo(code);
            assertThat(failure.detail()).contains(message);
        });
    }
}
