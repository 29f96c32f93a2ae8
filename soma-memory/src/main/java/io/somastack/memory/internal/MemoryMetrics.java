package io.somastack.memory.internal;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.function.Supplier;

/** Timers of memory's phases: {@code soma.memory.phase{operation, phase}} with percentile histograms. */
public record MemoryMetrics(Timer rememberEmbed, Timer rememberWrite, Timer recallEmbed, Timer recallSearch, Timer recallFetch,
        Timer recallRecord) {

    public static MemoryMetrics register(MeterRegistry meters) {
        return new MemoryMetrics(timer(meters, "remember", "embed"), timer(meters, "remember", "write"), timer(meters, "recall", "embed"),
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
