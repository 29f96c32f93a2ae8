package io.somastack.models;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import tools.jackson.databind.JsonNode;

/**
 * The content of a {@link ChatMessage}: either a plain string or an array of text parts
 * ({@code [{"type": "text", "text": "..."}]}), written back in the shape it was read.
 * Only text parts are supported; an image or audio part fails the request with
 * {@link ErrorCode#INVALID_REQUEST}. Immutable and thread-safe.
 */
public record MessageContent(String text, List<ContentPart> parts) {

    public MessageContent {
        if ((text == null) == (parts == null)) {
            throw new IllegalArgumentException("content is either text or parts");
        }
        parts = parts == null ? null : List.copyOf(parts);
    }

    /** One text part of an array content. */
    public record ContentPart(String type, String text) {
    }

    public static MessageContent text(String text) {
        return new MessageContent(text, null);
    }

    /** Reads the JSON form: a string or an array of {@code {type: text, text}} objects. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static MessageContent fromJson(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isString()) {
            return text(node.stringValue());
        }
        if (!node.isArray()) {
            throw invalid("message content must be a string or an array of text parts");
        }
        List<ContentPart> parts = new ArrayList<>();
        for (JsonNode part : node.values()) {
            if (!part.isObject()) {
                throw invalid("each content part must be an object");
            }
            String type = part.path("type").asString("");
            if (!type.equals("text")) {
                throw invalid("content part type '%s' is not supported; only 'text' parts are".formatted(type));
            }
            for (Map.Entry<String, JsonNode> field : part.properties()) {
                if (!field.getKey().equals("type") && !field.getKey().equals("text")) {
                    throw new SomaException(ErrorCode.UNKNOWN_FIELD, "Unknown field '%s'".formatted(field.getKey()));
                }
            }
            JsonNode text = part.get("text");
            if (text == null || !text.isString()) {
                throw invalid("a text content part needs a string 'text'");
            }
            parts.add(new ContentPart("text", text.stringValue()));
        }
        return new MessageContent(null, parts);
    }

    /** The JSON form: the string, or the list of parts. */
    @JsonValue
    public Object json() {
        return text != null ? text : parts;
    }

    /** The whole text: the string, or the text parts joined without separator. */
    public String asText() {
        if (text != null) {
            return text;
        }
        return parts.stream().map(ContentPart::text).collect(Collectors.joining());
    }

    private static SomaException invalid(String detail) {
        return new SomaException(ErrorCode.INVALID_REQUEST, detail);
    }
}
