package io.somastack.bench;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import io.somastack.models.Embedder;
import io.somastack.models.MiniLmEmbedder;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.LongBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;

/**
 * The local embedder side by side, on the texts of {@link MemoryRecallBenchmark}. Query latency:
 * one text at a time handed to one dedicated platform thread, as recall's {@code QueryEmbeddings}
 * does, for langchain4j's own model (the embedder before issue 13: ONNX Runtime's default
 * session, one intra-op thread per core, spinning) and {@link MiniLmEmbedder} (workers that do not
 * spin) with 1 and 2 intra-op threads; with the time the JVM spent in GC during each pass. Throughput
 * (what remember needs): the same batches of 500 texts, variants taking turns batch by batch, for the
 * quantized model production runs (one call per text) and langchain4j's non-quantized all-MiniLM-L6-v2
 * (one call per text, and real batches: one ONNX call per group of texts padded to the group's
 * longest), with wall time, this process's CPU per text, the smallest cosine of a variant's vector to
 * the same model's vector of the text alone, and how close the two models' vectors are.
 * Usage: {@code EmbedderBenchmark [queries] [batches]}, e.g. {@code 500 6}.
 */
public final class EmbedderBenchmark {
    private static final int BATCH = 500;
    private static final String QUANTIZED = "all-minilm-l6-v2-q";
    private static final String FULL = "all-minilm-l6-v2";

    private EmbedderBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int queries = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 500;
        int batches = arguments.length > 1 ? Integer.parseInt(arguments[1]) : 6;
        List<String> texts = MemoryRecallBenchmark.mixed(AptDescriptions.load(), JdkDocSentences.load());
        System.out.printf("EmbedderBenchmark %d %d; run started %s; load %s; %s%n%n", queries, batches, Instant.now(), Machine.loadAverage(),
                MemoryRecallBenchmark.describe(Machine.current()));
        AllMiniLmL6V2QuantizedEmbeddingModel langchain4j = new AllMiniLmL6V2QuantizedEmbeddingModel();
        Map<String, Function<List<String>, List<float[]>>> embedders = new LinkedHashMap<>();
        embedders.put("langchain4j default session (spinning, a thread per core)", batch -> langchain4j.embedAll(batch.stream().map(TextSegment::from).toList())
                .content().stream().map(embedding -> embedding.vector()).toList());
        MiniLmEmbedder one = new MiniLmEmbedder(1);
        MiniLmEmbedder two = new MiniLmEmbedder(2);
        embedders.put("MiniLmEmbedder, 1 intra-op thread (production)", one::embedAll);
        embedders.put("MiniLmEmbedder, 2 intra-op threads", two::embedAll);

        System.out.println("| query embedding (one dedicated thread) | p50 ms | p95 ms | p99 ms | GC ms in pass |");
        System.out.println("|---|---:|---:|---:|---:|");
        ExecutorService thread = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("query-embedder").daemon().factory());
        List<String> queryTexts = texts.subList(texts.size() - queries, texts.size());
        for (int round = 0; round < 2; round++) {
            for (var entry : embedders.entrySet()) {
                for (String warm : texts.subList(0, 50)) {
                    CompletableFuture.supplyAsync(() -> entry.getValue().apply(List.of(warm)), thread).join();
                }
                long gcBefore = gcMillis();
                long[] nanos = new long[queries];
                for (int q = 0; q < queries; q++) {
                    String query = queryTexts.get(q);
                    long start = System.nanoTime();
                    CompletableFuture.supplyAsync(() -> entry.getValue().apply(List.of(query)), thread).join();
                    nanos[q] = System.nanoTime() - start;
                }
                Arrays.sort(nanos);
                System.out.printf("| %s, round %d | %.2f | %.2f | %.2f | %d |%n", entry.getKey(), round + 1, nanos[index(queries, 0.5)] / 1e6,
                        nanos[index(queries, 0.95)] / 1e6, nanos[index(queries, 0.99)] / 1e6, gcMillis() - gcBefore);
            }
        }
        thread.shutdown();

        // Throughput: the same batches for every variant, taking turns batch by batch. CPU is this process's
        // (ONNX Runtime's native threads included) over the variant's calls, per text.
        try (Grouped quantized = new Grouped(QUANTIZED, 2); Grouped full = new Grouped(FULL, 2)) {
            Map<String, Function<List<String>, List<float[]>>> variants = new LinkedHashMap<>();
            variants.put("quantized, MiniLmEmbedder: one call per text, a thread per core, 2 intra-op threads", two::embedAll);
            variants.put("quantized (production), MiniLmEmbedder: the same, 1 intra-op thread", one::embedAll);
            variants.put("quantized, one ONNX call per padded group of 32 (sorted by length), 2 threads", batch -> quantized.embed(batch, 32));
            variants.put("non-quantized (fp32), one ONNX call per text, 2 threads", batch -> full.embed(batch, 1));
            variants.put("non-quantized (fp32), one ONNX call per padded group of 32 (sorted by length), 2 threads", batch -> full.embed(batch, 32));
            variants.put("non-quantized (fp32), one ONNX call per padded group of 128 (sorted by length), 2 threads", batch -> full.embed(batch, 128));
            Map<String, long[]> spent = new LinkedHashMap<>();
            Map<String, Double> worst = new LinkedHashMap<>();
            double[] toQuantized = {Double.MAX_VALUE, 0};
            for (int b = 0; b < batches; b++) {
                List<String> batch = texts.subList(b * BATCH, (b + 1) * BATCH);
                List<float[]> quantizedAlone = batch.stream().map(one::embed).toList();
                List<float[]> fullAlone = full.embed(batch, 1);
                for (int i = 0; i < batch.size(); i++) {
                    double cosine = Embedder.similarity(unit(fullAlone.get(i)), quantizedAlone.get(i));
                    toQuantized[0] = Math.min(toQuantized[0], cosine);
                    toQuantized[1] += cosine;
                }
                for (var entry : variants.entrySet()) {
                    long cpu = processCpuNanos();
                    long start = System.nanoTime();
                    List<float[]> vectors = entry.getValue().apply(batch);
                    long[] time = spent.computeIfAbsent(entry.getKey(), key -> new long[2]);
                    time[0] += System.nanoTime() - start;
                    time[1] += processCpuNanos() - cpu;
                    List<float[]> alone = entry.getKey().startsWith("quantized") ? quantizedAlone : fullAlone;
                    for (int i = 0; i < batch.size(); i++) {
                        worst.merge(entry.getKey(), Embedder.similarity(unit(vectors.get(i)), unit(alone.get(i))), Math::min);
                    }
                }
            }
            System.out.println();
            System.out.printf("| remember-style batches (%d x %d texts, taking turns) | texts/s | CPU ms per text | smallest cosine to the text alone (same model) |%n",
                    batches, BATCH);
            System.out.println("|---|---:|---:|---:|");
            for (var entry : spent.entrySet()) {
                System.out.printf("| %s | %.0f | %.2f | %.6f |%n", entry.getKey(), batches * BATCH / (entry.getValue()[0] / 1e9),
                        entry.getValue()[1] / 1e6 / (batches * BATCH), worst.get(entry.getKey()));
            }
            System.out.printf("%nCosine of the non-quantized vector to the quantized one of the same text (%d texts): smallest %.4f, mean %.4f%n",
                    batches * BATCH, toQuantized[0], toQuantized[1] / (batches * BATCH));
        }
        System.out.printf("Run ended %s; load %s%n", Instant.now(), Machine.loadAverage());
        System.exit(0);
    }

    private static float[] unit(float[] vector) {
        double norm = 0;
        for (float value : vector) {
            norm += value * value;
        }
        float[] unit = new float[vector.length];
        for (int i = 0; i < vector.length; i++) {
            unit[i] = (float) (vector[i] / Math.sqrt(norm));
        }
        return unit;
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static long gcMillis() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream().mapToLong(GarbageCollectorMXBean::getCollectionTime).sum();
    }

    private static int index(int count, double quantile) {
        return Math.min(count - 1, (int) Math.ceil(quantile * count) - 1);
    }

    /**
     * A model of langchain4j's jars ({@code name}.onnx and its tokenizer) on a session of our own (as MiniLmEmbedder's:
     * {@code threads} intra-op threads that sleep rather than spin), up to {@code group} texts per ONNX call (texts
     * sorted by length, each group padded to its longest), mean-pooled over each text's real tokens (first 512).
     */
    private static final class Grouped implements AutoCloseable {
        private final OrtEnvironment environment = OrtEnvironment.getEnvironment();
        private final OrtSession session;
        private final HuggingFaceTokenizer tokenizer;

        Grouped(String name, int threads) throws OrtException, IOException {
            Class<?> jar = name.equals(QUANTIZED) ? AllMiniLmL6V2QuantizedEmbeddingModel.class : AllMiniLmL6V2EmbeddingModel.class;
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                    InputStream model = jar.getResourceAsStream("/" + name + ".onnx");
                    InputStream vocabulary = jar.getResourceAsStream("/" + name + "-tokenizer.json")) {
                options.setIntraOpNumThreads(threads);
                options.setInterOpNumThreads(1);
                options.addConfigEntry("session.intra_op.allow_spinning", "0");
                options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                session = environment.createSession(model.readAllBytes(), options);
                tokenizer = HuggingFaceTokenizer.newInstance(vocabulary, Map.of("padding", "false"));
            }
        }

        List<float[]> embed(List<String> texts, int groupSize) {
            List<Encoding> encodings = texts.stream().map(text -> tokenizer.encode(text, true, false)).toList();
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < texts.size(); i++) {
                order.add(i);
            }
            order.sort(Comparator.comparingInt(i -> encodings.get(i).getIds().length));
            float[][] vectors = new float[texts.size()][];
            int from = 0;
            while (from < order.size()) {
                int to = from + 1;
                while (to < order.size() && to - from < groupSize) {
                    to++;
                }
                List<Integer> group = order.subList(from, to);
                float[][] pooled = run(group.stream().map(encodings::get).toList());
                for (int j = 0; j < group.size(); j++) {
                    vectors[group.get(j)] = pooled[j];
                }
                from = to;
            }
            return Arrays.asList(vectors);
        }

        private float[][] run(List<Encoding> group) {
            int rows = group.size();
            int columns = group.stream().mapToInt(encoding -> Math.min(512, encoding.getIds().length)).max().orElseThrow();
            long[] ids = new long[rows * columns];
            long[] mask = new long[rows * columns];
            long[] types = new long[rows * columns];
            for (int row = 0; row < rows; row++) {
                int length = Math.min(columns, group.get(row).getIds().length);
                System.arraycopy(group.get(row).getIds(), 0, ids, row * columns, length);
                System.arraycopy(group.get(row).getAttentionMask(), 0, mask, row * columns, length);
                System.arraycopy(group.get(row).getTypeIds(), 0, types, row * columns, length);
            }
            long[] shape = {rows, columns};
            try (OnnxTensor idTensor = OnnxTensor.createTensor(environment, LongBuffer.wrap(ids), shape);
                    OnnxTensor maskTensor = OnnxTensor.createTensor(environment, LongBuffer.wrap(mask), shape);
                    OnnxTensor typeTensor = OnnxTensor.createTensor(environment, LongBuffer.wrap(types), shape);
                    OrtSession.Result result = session.run(Map.of("input_ids", idTensor, "attention_mask", maskTensor, "token_type_ids", typeTensor))) {
                float[][][] hidden = (float[][][]) result.get(0).getValue();
                float[][] pooled = new float[rows][];
                for (int row = 0; row < rows; row++) {
                    float[] sum = new float[MiniLmEmbedder.DIMENSION];
                    int count = 0;
                    for (int token = 0; token < columns; token++) {
                        if (mask[row * columns + token] == 1) {
                            count++;
                            for (int i = 0; i < sum.length; i++) {
                                sum[i] += hidden[row][token][i];
                            }
                        }
                    }
                    for (int i = 0; i < sum.length; i++) {
                        sum[i] /= count;
                    }
                    pooled[row] = sum;
                }
                return pooled;
            } catch (OrtException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() throws OrtException {
            session.close();
        }
    }
}
