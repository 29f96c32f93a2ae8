package io.somastack.memory.internal;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.function.Supplier;

/** Timers of memory's phases: {@code soma.memory.phase{operation, phase}} with percentile histograms. */
public record MemoryMetrics(Timer rememberEmbed, Timer rememberWrite, Timer rememberDuplicates, Timer rememberStore, Timer rememberIndex,
        Timer recallEmbed, Timer recallSearch, Timer recallFetch, Timer recallRecord) {

    /**
     * Remember's phases: {@code embed}, {@code write} (the transaction, from submitting it to the group commit
     * until it is durable), and inside it {@code duplicates} (the near-duplicate checks of the batch) and
     * {@code store} (its inserts and updates); then {@code index} (this node's index applying the batch).
     */
    public static MemoryMetrics register(MeterRegistry meters) {
        return new MemoryMetrics(timer(meters, "remember", "embed"), timer(meters, "remember", "write"), timer(meters, "remember", "duplicates"),
                timer(meters, "remember", "store"), timer(meters, "remember", "index"), timer(meters, "recall", "embed"),
                timer(meters, "recall", "search"), timer(meters, "recall", "fetch"), timer(meters, "recall", "record"));
    }

    private static Timer timer(MeterRegistry meters, String operation, String phase) {
        return Timer.builder("soma.memory.phase").description("Latency of one phase of a memory operation")
                .tag("operation", operation).tag("phase", phase).publishPercentileHistogram().register(meters);
    }

    static <T> T time(Timer timer, Supplier<T> work) {
        return timer.record(work);
    }
}
