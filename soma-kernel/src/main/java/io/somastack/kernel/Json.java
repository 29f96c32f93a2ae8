package io.somastack.kernel;

import io.somastack.kernel.internal.CheckedParser;
import io.somastack.kernel.internal.StrictInstantDeserializer;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.exc.StreamReadException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.cfg.CoercionAction;
import tools.jackson.databind.cfg.CoercionInputShape;
import tools.jackson.databind.cfg.DateTimeFeature;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.exc.UnrecognizedPropertyException;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.module.SimpleModule;
import tools.jackson.databind.type.LogicalType;

/**
 * The JSON mapper of SomaStack. Strict on input, with one rule for every route:
 * <ul>
 *   <li>an empty body or the literal {@code null} is refused ({@link ErrorCode#INVALID_REQUEST});
 *   <li>unknown properties are refused ({@link ErrorCode#UNKNOWN_FIELD}), as are trailing tokens;
 *   <li>no scalar coercion: a number or boolean is not a string, {@code 1.5} or {@code "5"} is
 *       not an integer, and {@code null} is not a primitive; the one exception is a decimal
 *       ({@link BigDecimal}, e.g. money), which may be a number or a decimal string;
 *   <li>no string may hold NUL ({@code \u0000}) or a lone UTF-16 surrogate: PostgreSQL cannot store
 *       the first and no encoder can write the second;
 *   <li>{@link Instant} values are RFC 3339 strings in the years 0001 to 9999.
 * </ul>
 * Every refusal names the field by its path ({@code provenance.observed_at},
 * {@code messages[2].content}). Immutable and thread-safe.
 */
public final class Json {
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .disable(DateTimeFeature.WRITE_DATES_AS_TIMESTAMPS)
            .withCoercionConfig(LogicalType.Textual, config -> config
                    .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
            .withCoercionConfig(LogicalType.Integer, config -> config
                    .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
            .withCoercionConfig(LogicalType.Float, config -> config
                    .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
            // Money travels as a decimal string ("25.00") as often as a number: both are exact here.
            .withCoercionConfig(BigDecimal.class, config -> config.setCoercion(CoercionInputShape.String, CoercionAction.TryConvert))
            .withCoercionConfig(LogicalType.Boolean, config -> config
                    .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.String, CoercionAction.Fail))
            .addModule(new SimpleModule("somastack-strict").addDeserializer(Instant.class, new StrictInstantDeserializer()))
            .build();

    private Json() {
    }

    public static JsonMapper mapper() {
        return MAPPER;
    }

    /**
     * Reads a client's document {@code bytes} as {@code type}. Every problem is a 400 naming the
     * field; a {@link SomaException} thrown by a record's constructor is reported as is.
     */
    public static <T> T read(byte[] bytes, Class<T> type) {
        requireBody(bytes);
        try (JsonParser parser = new CheckedParser(MAPPER.createParser(bytes))) {
            T value = MAPPER.readValue(parser, type);
            if (value == null) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "The request body is JSON null; send a JSON object");
            }
            return value;
        } catch (JacksonException e) {
            throw problem(e);
        }
    }

    /**
     * Parses a client's document into a tree, with the same rules as {@link #read} for empty
     * bodies, {@code null}, NUL and lone surrogates.
     */
    public static JsonNode tree(byte[] bytes) {
        requireBody(bytes);
        try (JsonParser parser = new CheckedParser(MAPPER.createParser(bytes))) {
            JsonNode node = MAPPER.readTree(parser);
            if (node == null || node.isNull() || node.isMissingNode()) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "The request body is JSON null; send a JSON object");
            }
            if (parser.nextToken() != null) {
                throw new SomaException(ErrorCode.MALFORMED_JSON, "Trailing content after the JSON document");
            }
            return node;
        } catch (JacksonException e) {
            throw problem(e);
        }
    }

    /** Binds a tree that {@link #tree} parsed to {@code type}, with the rules of {@link #read}. */
    public static <T> T convert(JsonNode node, Class<T> type) {
        try {
            T value = MAPPER.treeToValue(node, type);
            if (value == null) {
                throw new SomaException(ErrorCode.INVALID_REQUEST, "The document is JSON null; send a JSON object");
            }
            return value;
        } catch (JacksonException e) {
            throw problem(e);
        }
    }

    public static byte[] bytes(Object value) {
        return MAPPER.writeValueAsBytes(value);
    }

    public static String text(Object value) {
        return MAPPER.writeValueAsString(value);
    }

    /** The field path of a Jackson failure ({@code messages[2].content}), empty at the root. */
    public static String path(JacksonException e) {
        return e.getPath().stream()
                .map(reference -> reference.getPropertyName() != null ? "." + reference.getPropertyName() : "[" + reference.getIndex() + "]")
                .collect(Collectors.joining())
                .replaceFirst("^\\.", "");
    }

    private static void requireBody(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The request body is empty; send a JSON object");
        }
    }

    private static SomaException problem(JacksonException e) {
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof SomaException somaException) {
                return somaException;
            }
        }
        String field = path(e);
        if (e instanceof UnrecognizedPropertyException) {
            return new SomaException(ErrorCode.UNKNOWN_FIELD, "Unknown field '%s'".formatted(field));
        }
        if (e instanceof StreamReadException || e.getOriginalMessage().startsWith("Trailing token")) {
            return new SomaException(ErrorCode.MALFORMED_JSON, e.getOriginalMessage());
        }
        if (e instanceof MismatchedInputException mismatch && mismatch.getTargetType() != null && !field.isEmpty()) {
            return new SomaException(ErrorCode.INVALID_REQUEST, "Field '%s' must be %s".formatted(field, describe(mismatch.getTargetType())),
                    Map.of("field", field));
        }
        String detail = field.isEmpty() ? e.getOriginalMessage() : "Field '%s': %s".formatted(field, e.getOriginalMessage());
        return field.isEmpty() ? new SomaException(ErrorCode.INVALID_REQUEST, detail)
                : new SomaException(ErrorCode.INVALID_REQUEST, detail, Map.of("field", field));
    }

    /** What a client should send for {@code type}, in the words of JSON. */
    private static String describe(Class<?> type) {
        if (type == String.class || type == Character.class || type == char.class || type.isEnum()) {
            return "a string";
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class || type == Short.class
                || type == short.class || type == BigInteger.class) {
            return "an integer";
        }
        if (type == Double.class || type == double.class || type == Float.class || type == float.class || type == BigDecimal.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "a boolean (true or false)";
        }
        if (type == Instant.class) {
            return "an RFC 3339 timestamp such as 2026-01-31T12:00:00Z";
        }
        if (type.isArray() || Collection.class.isAssignableFrom(type) || type == List.class) {
            return "an array";
        }
        return "an object";
    }
}
