package io.somastack.models.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Json;
import io.somastack.kernel.SomaException;
import java.util.List;
import java.util.stream.Collectors;
import tools.jackson.core.JacksonException;
import tools.jackson.core.exc.StreamReadException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.exc.UnrecognizedPropertyException;
import tools.jackson.databind.node.ObjectNode;

/**
 * JSON for the wire: strict on what clients send, lenient on what upstream providers answer
 * (they add fields such as {@code system_fingerprint} or {@code service_tier} at any time, and
 * a new field must not break every call).
 */
public final class WireJson {
    private static final JsonMapper LENIENT = Json.mapper().rebuild()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();

    private WireJson() {
    }

    /**
     * Reads a client's document with the strict mapper. A {@link SomaException} thrown by a
     * creator (such as a bad content part) is reported as is, a type mismatch as
     * {@code INVALID_REQUEST} naming the field, broken JSON as {@code MALFORMED_JSON}.
     */
    public static <T> T readStrict(byte[] body, Class<T> type) {
        return Json.read(body, type);
    }

    /** Reads an upstream provider's document, ignoring fields SomaStack does not use. */
    public static <T> T readUpstream(byte[] body, Class<T> type, String provider) {
        try {
            return LENIENT.readValue(body, type);
        } catch (JacksonException e) {
            throw Upstream.failure(provider, 502, false, "unreadable response: " + e.getOriginalMessage(), e);
        }
    }

    /** Parses an upstream provider's JSON document into a tree. */
    public static JsonNode treeUpstream(String body, String provider) {
        try {
            return LENIENT.readTree(body);
        } catch (JacksonException e) {
            throw Upstream.failure(provider, 502, false, "unreadable response: " + e.getOriginalMessage(), e);
        }
    }

    /** Parses a JSON text into a tree, or returns null when it is not valid JSON. */
    public static JsonNode treeOrNull(String text) {
        try {
            return LENIENT.readTree(text);
        } catch (JacksonException e) {
            return null;
        }
    }

    public static ObjectNode object() {
        return LENIENT.createObjectNode();
    }

    public static JsonMapper lenient() {
        return LENIENT;
    }
}
