package io.somastack.models;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.AbstractInProcessEmbeddingModel;
import dev.langchain4j.model.embedding.onnx.OnnxBertBiEncoder;
import dev.langchain4j.model.embedding.onnx.PoolingMode;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.models.internal.EmbeddingTexts;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The local all-MiniLM-L6-v2 sentence embedder (quantized ONNX shipped inside langchain4j's
 * jar, 384 dimensions), run in process by ONNX Runtime. The model loads once per process (about
 * a second) and is shared by every instance. A text the tokenizer reads as empty (only
 * whitespace, control, formatting or combining characters) is refused with {@link
 * ErrorCode#INVALID_REQUEST}. Thread-safe: ONNX Runtime sessions may run concurrently.
 *
 * <p>The model is langchain4j's (its tokenizer, 510-token parts, mean pooling) on a session of
 * our own: {@link #DEFAULT_THREADS} intra-op thread, so a call runs on its caller's thread and
 * no worker spins or waits, warmed up when loaded. Many texts are embedded one call per text on a
 * thread per core; one batched call would change the vectors (see {@link #embedCounted}).
 */
public final class MiniLmEmbedder implements Embedder {
    public static final String MODEL = "all-minilm-l6-v2-q";
    public static final int DIMENSION = 384;
    /**
     * Intra-op threads of the session. One: a text of a sentence or two is too small to share
     * between threads, so a second thread only adds its hand-offs. On the quiet 2-core machine one
     * thread embedded batches 1.45 times as fast (975 against 671 texts/s, 1.98 against 2.89 ms of
     * CPU per text) and one query faster (p50 1.7 against 2.5 ms); only on a machine shared with
     * other work, where more threads take a larger share of the cores, were two faster
     * (docs/BENCHMARKS.md, issue 13, session of 2026-12-01 (night)).
     */
    public static final int DEFAULT_THREADS = 1;

    /** One loaded model per thread count in this process, shared by every instance (as langchain4j shares its own). */
    private static final Map<Integer, AbstractInProcessEmbeddingModel> LOADED = new HashMap<>();

    private final AbstractInProcessEmbeddingModel model;

    public MiniLmEmbedder() {
        this(DEFAULT_THREADS);
    }

    /** With {@code threads} intra-op threads (benchmarks compare counts; production uses the default). */
    public MiniLmEmbedder(int threads) {
        synchronized (LOADED) {
            model = LOADED.computeIfAbsent(threads, MiniLmEmbedder::load);
        }
    }

    private static AbstractInProcessEmbeddingModel load(int threads) {
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        OrtSession session;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = environment.createSession(resource(MODEL + ".onnx"), options);
        } catch (OrtException e) {
            throw new IllegalStateException("The embedding model could not be loaded", e);
        }
        try (InputStream tokenizer = stream(MODEL + "-tokenizer.json")) {
            OnnxBertBiEncoder encoder = new OnnxBertBiEncoder(environment, session, tokenizer, PoolingMode.MEAN);
            // langchain4j's own executor (a thread per core) embeds the texts of a batch side by side; one text runs on the caller's thread.
            AbstractInProcessEmbeddingModel model = new AbstractInProcessEmbeddingModel(null) {
                @Override
                protected OnnxBertBiEncoder model() {
                    return encoder;
                }

                @Override
                protected Integer knownDimension() {
                    return DIMENSION;
                }
            };
            // The first run of a session allocates and plans; do it now rather than in someone's request.
            model.embed("warm up");
            return model;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

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
        return embedCounted(texts).vectors();
    }

    @Override
    public Counted embedCounted(List<String> texts) {
        check(texts);
        // One call per text, spread over the cores by langchain4j: a batched call is not used because the
        // quantized model scales its activations over the whole batch, so a text's vector would depend on
        // its neighbours (docs/BENCHMARKS.md, issue 13).
        var response = model.embedAll(texts.stream().map(TextSegment::from).toList());
        List<float[]> vectors = response.content().stream().map(embedding -> EmbeddingTexts.unitLength(embedding.vector())).toList();
        return new Counted(vectors, tokens(response.tokenUsage().inputTokenCount()));
    }

    private static long tokens(Integer count) {
        if (count == null) {
            throw new IllegalStateException("The embedding model did not report its token count");
        }
        return count;
    }

    private static byte[] resource(String name) {
        try (InputStream in = stream(name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A file of the model's jar; naming the class does not load langchain4j's own copy of the model. */
    private static InputStream stream(String name) {
        InputStream in = AllMiniLmL6V2QuantizedEmbeddingModel.class.getResourceAsStream("/" + name);
        if (in == null) {
            throw new IllegalStateException("The embedding model's jar holds no " + name);
        }
        return in;
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
