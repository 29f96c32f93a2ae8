package io.somastack.bench;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.langchain4j.data.segment.TextSegment;
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
 * spin) with 1 and 2 intra-op threads; with the time the JVM spent in GC during each pass. Throughput: the same
 * batches of 500 texts, variants taking turns batch by batch, through each embedder's
 * {@code embedAll} and through one ONNX call per group of texts (same token count only, or padded
 * to the group's longest), with the smallest cosine of a grouped vector to the text's own vector.
 * Usage: {@code EmbedderBenchmark [queries] [batches]}, e.g. {@code 500 6}.
 */
public final class EmbedderBenchmark {
    private static final int BATCH = 500;
    private static final int GROUP = 32;

    private EmbedderBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int queries = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 500;
        int batches = arguments.length > 1 ? Integer.parseInt(arguments[1]) : 6;
        List<String> texts = MemoryRecallBenchmark.mixed(AptDescriptions.load(), JdkDocSentences.load());
        System.out.printf("Run started %s; %s%n%n", Instant.now(), MemoryRecallBenchmark.describe(Machine.current()));
        AllMiniLmL6V2QuantizedEmbeddingModel langchain4j = new AllMiniLmL6V2QuantizedEmbeddingModel();
        Map<String, Function<List<String>, List<float[]>>> embedders = new LinkedHashMap<>();
        embedders.put("langchain4j default session (before)", batch -> langchain4j.embedAll(batch.stream().map(TextSegment::from).toList())
                .content().stream().map(embedding -> embedding.vector()).toList());
        MiniLmEmbedder one = new MiniLmEmbedder(1);
        MiniLmEmbedder two = new MiniLmEmbedder(2);
        embedders.put("MiniLmEmbedder, 1 intra-op thread", one::embedAll);
        embedders.put("MiniLmEmbedder, 2 intra-op threads (after)", two::embedAll);

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

        try (Grouped grouped = new Grouped()) {
            embedders.put("one ONNX call per same-length group of <= 32, 1 thread", batch -> grouped.embed(batch, false));
            embedders.put("one ONNX call per padded group of 32 (sorted by length), 1 thread", batch -> grouped.embed(batch, true));
            Map<String, long[]> spent = new LinkedHashMap<>();
            Map<String, Double> worst = new LinkedHashMap<>();
            for (int b = 0; b < batches; b++) {
                List<String> batch = texts.subList(b * BATCH, (b + 1) * BATCH);
                List<float[]> alone = batch.stream().map(one::embed).toList();
                for (var entry : embedders.entrySet()) {
                    long start = System.nanoTime();
                    List<float[]> vectors = entry.getValue().apply(batch);
                    spent.computeIfAbsent(entry.getKey(), key -> new long[1])[0] += System.nanoTime() - start;
                    for (int i = 0; i < batch.size(); i++) {
                        double cosine = Embedder.similarity(unit(vectors.get(i)), alone.get(i));
                        worst.merge(entry.getKey(), cosine, Math::min);
                    }
                }
            }
            System.out.println();
            System.out.printf("| remember-style batches (%d x %d texts, taking turns) | texts/s | smallest cosine to the text alone |%n", batches, BATCH);
            System.out.println("|---|---:|---:|");
            for (var entry : spent.entrySet()) {
                System.out.printf("| %s | %.0f | %.6f |%n", entry.getKey(), batches * BATCH / (entry.getValue()[0] / 1e9), worst.get(entry.getKey()));
            }
        }
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

    private static long gcMillis() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream().mapToLong(GarbageCollectorMXBean::getCollectionTime).sum();
    }

    private static int index(int count, double quantile) {
        return Math.min(count - 1, (int) Math.ceil(quantile * count) - 1);
    }

    /** The same model and tokenizer, many texts per ONNX call, mean-pooled over each text's real tokens. */
    private static final class Grouped implements AutoCloseable {
        private final OrtEnvironment environment = OrtEnvironment.getEnvironment();
        private final OrtSession session;
        private final HuggingFaceTokenizer tokenizer;

        Grouped() throws OrtException, IOException {
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                    InputStream model = AllMiniLmL6V2QuantizedEmbeddingModel.class.getResourceAsStream("/all-minilm-l6-v2-q.onnx");
                    InputStream vocabulary = AllMiniLmL6V2QuantizedEmbeddingModel.class.getResourceAsStream("/all-minilm-l6-v2-q-tokenizer.json")) {
                options.setIntraOpNumThreads(1);
                session = environment.createSession(model.readAllBytes(), options);
                tokenizer = HuggingFaceTokenizer.newInstance(vocabulary, Map.of("padding", "false"));
            }
        }

        List<float[]> embed(List<String> texts, boolean pad) {
            List<Encoding> encodings = texts.stream().map(text -> tokenizer.encode(text, true, false)).toList();
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < texts.size(); i++) {
                order.add(i);
            }
            order.sort(Comparator.comparingInt(i -> encodings.get(i).getIds().length));
            float[][] vectors = new float[texts.size()][];
            int from = 0;
            while (from < order.size()) {
                int length = Math.min(512, encodings.get(order.get(from)).getIds().length);
                int to = from + 1;
                while (to < order.size() && to - from < GROUP && (pad || encodings.get(order.get(to)).getIds().length == length)) {
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
