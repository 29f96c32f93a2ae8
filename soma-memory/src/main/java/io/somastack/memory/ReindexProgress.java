package io.somastack.memory;

import java.time.Duration;
import java.util.Optional;

/**
 * How far a reindex is: {@code done} of {@code total} revisions embedded again, in {@code elapsed}.
 * Rate and time left are estimates from the rate so far.
 */
public record ReindexProgress(long done, long total, Duration elapsed) {
    /** Revisions per second so far; 0 before the first has been done. */
    public double perSecond() {
        long nanos = elapsed.toNanos();
        return nanos <= 0 ? 0 : done * 1e9 / nanos;
    }

    /** The time left at the rate so far; empty until there is a rate. */
    public Optional<Duration> eta() {
        double rate = perSecond();
        if (rate <= 0) {
            return Optional.empty();
        }
        return Optional.of(Duration.ofMillis(Math.round(Math.max(0, total - done) * 1000 / rate)));
    }

    /** One line for a terminal, e.g. {@code reindexed 512 of 1,000 revisions (51%), 210/s, about 2s left}. */
    public String describe() {
        long percent = total == 0 ? 100 : done * 100 / total;
        String left = eta().map(duration -> ", about %ds left".formatted((duration.toMillis() + 999) / 1000)).orElse("");
        return "reindexed %,d of %,d revisions (%d%%), %.0f/s%s".formatted(done, total, percent, perSecond(), left);
    }
}
