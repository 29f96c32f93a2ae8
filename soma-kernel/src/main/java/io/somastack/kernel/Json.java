package io.somastack.kernel;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.exc.UnrecognizedPropertyException;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.cfg.DateTimeFeature;

/**
 * The JSON mapper of SomaStack. Strict on input: unknown properties, trailing tokens and
 * null primitives are errors, reported as {@link ErrorCode#UNKNOWN_FIELD} or
 * {@link ErrorCode#MALFORMED_JSON}. Immutable and thread-safe.
 */
public final class Json {
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .disable(DateTimeFeature.WRITE_DATES_AS_TIMESTAMPS)
            .build();

    private Json() {
    }

    public static JsonMapper mapper() {
        return MAPPER;
    }

    /** Reads {@code bytes} as {@code type}, turning every parse problem into a 400 problem. */
    public static <T> T read(byte[] bytes, Class<T> type) {
        try {
            return MAPPER.readValue(bytes, type);
        } catch (UnrecognizedPropertyException e) {
            throw new SomaException(ErrorCode.UNKNOWN_FIELD,
                    "Unknown field '%s'".formatted(e.getPropertyName()));
        } catch (JacksonException e) {
            throw new SomaException(ErrorCode.MALFORMED_JSON, e.getOriginalMessage());
        }
    }

    public static JsonNode tree(byte[] bytes) {
        try {
            return MAPPER.readTree(bytes);
        } catch (JacksonException e) {
            throw new SomaException(ErrorCode.MALFORMED_JSON, e.getOriginalMessage());
        }
    }

    public static <T> T convert(JsonNode node, Class<T> type) {
        try {
            return MAPPER.treeToValue(node, type);
        } catch (UnrecognizedPropertyException e) {
            throw new SomaException(ErrorCode.UNKNOWN_FIELD,
                    "Unknown field '%s'".formatted(e.getPropertyName()));
        } catch (JacksonException e) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, e.getOriginalMessage());
        }
    }

    public static byte[] bytes(Object value) {
        return MAPPER.writeValueAsBytes(value);
    }

    public static String text(Object value) {
        return MAPPER.writeValueAsString(value);
    }
}
