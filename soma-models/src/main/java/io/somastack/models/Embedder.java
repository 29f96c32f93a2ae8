package io.somastack.models;

import java.util.List;

/**
 * Turns text into unit-length vectors whose dot product is their cosine similarity.
 * Implementations are thread-safe. The {@link #model()} name and {@link #dimension()} are
 * stored with every revision, so a change of model can be detected and reindexed.
 */
public interface Embedder {
    /** A stable name, e.g. {@code all-minilm-l6-v2-q}. */
    String model();

    int dimension();

    float[] embed(String text);

    /** Embeds many texts; faster than one by one. Results are in input order. */
    List<float[]> embedAll(List<String> texts);

    /** As {@link #embedAll}, with the number of tokens the model read (for metering). */
    Counted embedCounted(List<String> texts);

    /** The cosine similarity of two of an embedder's vectors: their dot product, as they have unit length. */
    static double similarity(float[] left, float[] right) {
        if (left.length != right.length) {
            throw new IllegalArgumentException("vectors of %d and %d dimensions cannot be compared".formatted(left.length, right.length));
        }
        double sum = 0;
        for (int i = 0; i < left.length; i++) {
            sum += left[i] * right[i];
        }
        return sum;
    }

    /** Vectors in input order and the tokens the model read to make them. */
    record Counted(List<float[]> vectors, long tokens) {
        public Counted {
            vectors = List.copyOf(vectors);
        }
    }
}
