package io.somastack.models;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.models.internal.EmbeddingTexts;
import java.util.List;
import java.util.Locale;

/**
 * The local all-MiniLM-L6-v2 sentence embedder (quantized ONNX shipped inside its jar, 384
 * dimensions), run in process by ONNX Runtime. Loading takes about a second; make one and
 * share it. A text the tokenizer reads as empty (only whitespace, control, formatting or combining
 * characters) is refused with {@link ErrorCode#INVALID_REQUEST}. Thread-safe: ONNX Runtime
 * sessions may run concurrently.
 */
public final class MiniLmEmbedder implements Embedder {
    public static final String MODEL = "all-minilm-l6-v2-q";
    public static final int DIMENSION = 384;

    private final AllMiniLmL6V2QuantizedEmbeddingModel model = new AllMiniLmL6V2QuantizedEmbeddingModel();

    @Override
    public String model() {
        return MODEL;
    }

    @Override
    public int dimension() {
        return DIMENSION;
    }

    @Override
    public float[] embed(String text) {
        check(List.of(text));
        return EmbeddingTexts.unitLength(model.embed(text).content().vector());
    }

    @Override
    public List<float[]> embedAll(List<String> texts) {
        if (texts.size() == 1) {
            return List.of(embed(texts.getFirst()));
        }
        check(texts);
        List<TextSegment> segments = texts.stream().map(TextSegment::from).toList();
        List<Embedding> embeddings = model.embedAll(segments).content();
        return embeddings.stream().map(embedding -> EmbeddingTexts.unitLength(embedding.vector())).toList();
    }

    @Override
    public Counted embedCounted(List<String> texts) {
        check(texts);
        var response = model.embedAll(texts.stream().map(TextSegment::from).toList());
        List<float[]> vectors = response.content().stream().map(embedding -> EmbeddingTexts.unitLength(embedding.vector())).toList();
        Integer tokens = response.tokenUsage() == null ? null : response.tokenUsage().inputTokenCount();
        if (tokens == null) {
            throw new IllegalStateException("The embedding model did not report its token count");
        }
        return new Counted(vectors, tokens);
    }

    /**
     * Refuses, as bad input, a text the tokenizer would read as empty (the model then throws an
     * {@link IllegalArgumentException}, a 500) or that holds NUL or a lone surrogate. Callers that
     * know the text's field name check it first with a better message.
     */
    private static void check(List<String> texts) {
        for (int i = 0; i < texts.size(); i++) {
            String field = texts.size() == 1 ? "the text" : "text %d".formatted(i);
            EmbeddingTexts.problem(field, texts.get(i)).ifPresent(problem -> {
                throw new SomaException(ErrorCode.INVALID_REQUEST, problem.substring(0, 1).toUpperCase(Locale.ROOT) + problem.substring(1));
            });
        }
    }
}
