package io.somastack.bench;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * What one measured window of {@link OpenLoopLoad} produced.
 *
 * @param target the path that was measured
 * @param rate the target arrival rate in requests per second
 * @param scheduled requests scheduled in the measured window ({@code rate * duration})
 * @param succeeded requests answered with 200
 * @param errors failed requests by kind ({@code HTTP 429}, an I/O failure, or no answer in time)
 * @param latencies latency of every successful request in nanoseconds, from its scheduled start
 * @param answeredInWindow successful answers that arrived during the window, whenever their
 *     requests were scheduled: what the server delivered, also when it could not keep up
 * @param window the measured window's length
 */
record LoadResult(Target target, int rate, long scheduled, long succeeded, Map<String, Long> errors, Histogram latencies,
        long answeredInWindow, Duration window) {

    LoadResult {
        errors = Map.copyOf(new TreeMap<>(errors));
    }

    long errorCount() {
        return errors.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Successful answers per second during the window. */
    double achievedRate() {
        return answeredInWindow / (window.toNanos() / 1e9);
    }

    /** The latency at a percentile in milliseconds; 0 without any successful request. */
    double percentileMillis(double percentile) {
        return latencies.getTotalCount() == 0 ? 0 : latencies.getValueAtPercentile(percentile) / 1e6;
    }

    double maxMillis() {
        return latencies.getTotalCount() == 0 ? 0 : latencies.getMaxValue() / 1e6;
    }
}
