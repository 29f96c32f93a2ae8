package io.somastack.memory.internal;

import static java.util.Objects.requireNonNull;

/**
 * The model and dimension of the vectors this node searches. Vectors of another model live in
 * another space: their cosines with this model's vectors mean nothing, so the index leaves them
 * out and the near-duplicate check ignores them until {@code somastack memory reindex} has
 * embedded their text again.
 */
public record EmbeddingSpace(String model, int dimension) {
    public EmbeddingSpace {
        requireNonNull(model, "model is null");
        if (dimension < 1) {
            throw new IllegalArgumentException("dimension must be positive");
        }
    }

    /** Whether a vector stored with {@code vectorModel} belongs to this space. */
    public boolean holds(String vectorModel, float[] vector) {
        return vector != null && model.equals(vectorModel) && vector.length == dimension;
    }

    /** The form kept in the index's commit data, e.g. {@code all-minilm-l6-v2-q/384}. */
    public String key() {
        return model + "/" + dimension;
    }
}
