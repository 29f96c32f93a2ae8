package io.somastack.models.internal;

import io.somastack.kernel.Json;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * The body of an OpenAI embeddings answer, checked strictly: {@code data} holds exactly one
 * {@code embedding} per input with each {@code index} once, all vectors have one length (the
 * expected one, when known), and {@code usage.prompt_tokens} is read when present. Vectors are
 * returned in input order, scaled to unit length.
 */
public record EmbeddingsAnswer(List<float[]> vectors, OptionalLong promptTokens) {
    public EmbeddingsAnswer {
        vectors = List.copyOf(vectors);
    }

    /** Parses {@code body} for {@code inputs} inputs; {@code expectedDimension} 0 accepts any one length. */
    public static EmbeddingsAnswer parse(String body, int inputs, int expectedDimension) {
        JsonNode root;
        try {
            root = Json.mapper().readTree(body);
        } catch (JacksonException e) {
            throw new Malformed("the body is not JSON (" + e.getOriginalMessage() + ")");
        }
        JsonNode data = root == null ? null : root.get("data");
        if (data == null || !data.isArray()) {
            throw new Malformed("it has no data array");
        }
        if (data.size() != inputs) {
            throw new Malformed("data holds %d embeddings for %d inputs".formatted(data.size(), inputs));
        }
        float[][] vectors = new float[inputs][];
        for (JsonNode item : data) {
            JsonNode index = item.get("index");
            if (index == null || !index.isIntegralNumber() || !index.canConvertToInt() || index.asInt() < 0 || index.asInt() >= inputs || vectors[index.asInt()] != null) {
                throw new Malformed("data[].index must name each input 0..%d once (got %s)".formatted(inputs - 1, index));
            }
            vectors[index.asInt()] = vector(item.get("embedding"), index.asInt());
        }
        int dimension = expectedDimension > 0 ? expectedDimension : vectors[0].length;
        for (int i = 0; i < inputs; i++) {
            if (vectors[i].length != dimension) {
                throw new Malformed("embedding %d has %d dimensions, expected %d%s".formatted(i, vectors[i].length, dimension,
                        expectedDimension > 0 ? " (the configured dimension or the first answer)" : ""));
            }
            vectors[i] = EmbeddingTexts.unitLength(vectors[i]);
        }
        JsonNode tokens = root.path("usage").path("prompt_tokens");
        return new EmbeddingsAnswer(Arrays.asList(vectors), tokens.canConvertToLong() ? OptionalLong.of(tokens.asLong()) : OptionalLong.empty());
    }

    private static float[] vector(JsonNode embedding, int index) {
        if (embedding == null || !embedding.isArray() || embedding.isEmpty()) {
            throw new Malformed("data[%d].embedding is not a non-empty array of numbers (was encoding_format ignored?)".formatted(index));
        }
        float[] vector = new float[embedding.size()];
        List<JsonNode> values = new ArrayList<>(embedding.size());
        embedding.forEach(values::add);
        for (int i = 0; i < vector.length; i++) {
            JsonNode value = values.get(i);
            if (!value.isNumber()) {
                throw new Malformed("data[%d].embedding[%d] is not a number".formatted(index, i));
            }
            vector[i] = value.floatValue();
            if (!Float.isFinite(vector[i])) {
                throw new Malformed("data[%d].embedding[%d] is not finite".formatted(index, i));
            }
        }
        return vector;
    }

    /** The answer is not what the OpenAI embeddings API specifies. */
    public static final class Malformed extends RuntimeException {
        public Malformed(String message) {
            super(message);
        }
    }
}
