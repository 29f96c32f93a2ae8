package io.somastack.server;

import static java.util.Objects.requireNonNull;

import io.somastack.models.Embedder;
import java.util.List;
import java.util.function.Supplier;

/**
 * An embedder whose model is still loading: its name and dimension are known up front (what
 * memory needs to open its index), and each embedding waits for the loaded model. The server is
 * ready only once the model is, so after start-up no call waits. Thread-safe.
 */
final class LoadingEmbedder implements Embedder {
    private final String model;
    private final int dimension;
    private final Supplier<Embedder> loaded;

    LoadingEmbedder(String model, int dimension, Supplier<Embedder> loaded) {
        this.model = requireNonNull(model, "model is null");
        this.dimension = dimension;
        this.loaded = requireNonNull(loaded, "loaded is null");
    }

    @Override
    public String model() {
        return model;
    }

    @Override
    public int dimension() {
        return dimension;
    }

    @Override
    public float[] embed(String text) {
        return loaded.get().embed(text);
    }

    @Override
    public List<float[]> embedAll(List<String> texts) {
        return loaded.get().embedAll(texts);
    }

    @Override
    public Counted embedCounted(List<String> texts) {
        return loaded.get().embedCounted(texts);
    }
}
